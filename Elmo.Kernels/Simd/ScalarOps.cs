using System.Runtime.CompilerServices;

namespace Elmo.Kernels.Simd;

/// <summary>
/// <see cref="IVectorOps{TVec}"/> over a single <see cref="float"/>: the portable fallback.
/// It uses <see cref="MathF.FusedMultiplyAdd"/>, so it rounds exactly like the vector paths.
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
    public static float Max(float a, float b) => MathF.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Add(float a, float b) => a + b;
}
