using System.Runtime.CompilerServices;

namespace Elmo.Kernels.Simd;

/// <summary>
/// <see cref="IVectorOps{TVec}"/> over a single <see cref="float"/>: the portable fallback, and the tail of every
/// vector loop. It uses <see cref="MathF.FusedMultiplyAdd"/>, so it rounds exactly like the vector paths.
/// </summary>
internal readonly struct ScalarOps : IVectorOps<float>
{
    public static int Width => 1;
    public static float Zero => 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(ref float source) => source;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float value, ref float destination) => destination = value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Broadcast(float value) => value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Add(float a, float b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Subtract(float a, float b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Multiply(float a, float b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Divide(float a, float b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Max(float a, float b) => a > b ? a : b; // x86 maxss: b unless a > b
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Min(float a, float b) => a < b ? a : b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Abs(float a) => MathF.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float a) => MathF.Round(a, MidpointRounding.ToEven);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Pow2(float n) => BitConverter.Int32BitsToSingle(((int)n + 127) << 23);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SelectLess(float a, float b, float whenTrue, float whenFalse) => a < b ? whenTrue : whenFalse;
}
