using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Elmo.Kernels.Simd;

/// <summary><see cref="IVectorOps{TVec}"/> over 4-lane <see cref="Vector128{T}"/> (SSE or AdvSimd).</summary>
internal readonly struct Vector128Ops : IVectorOps<Vector128<float>>
{
    public static int Width => Vector128<float>.Count;
    public static Vector128<float> Zero => Vector128<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(ref float source) => Vector128.LoadUnsafe(ref source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<float> value, ref float destination) => value.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Broadcast(float value) => Vector128.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
}
