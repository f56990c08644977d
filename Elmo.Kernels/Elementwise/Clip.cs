using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Elmo.Kernels.Simd;

namespace Elmo.Kernels;

/// <summary>Symmetric clipping to <c>[−bound, bound]</c>.</summary>
public static class Clip
{
    /// <summary>Clips every value of <paramref name="values"/> in place to <c>[−bound, bound]</c>.</summary>
    /// <param name="values">Values to clip.</param>
    /// <param name="bound">Positive bound.</param>
    public static void Apply(Span<float> values, float bound) => Apply(values, bound, null);

    /// <summary><see cref="Apply(Span{float}, float)"/> on a chosen path (tests).</summary>
    internal static void Apply(Span<float> values, float bound, KernelPath? path)
    {
        var kernel = new ClipKernel(values, bound);
        VectorKernel.Run(ref kernel, path);
    }

    /// <summary>Scalar reference for <see cref="Apply(Span{float}, float)"/>.</summary>
    /// <param name="values">Values to clip.</param>
    /// <param name="bound">Positive bound.</param>
    public static void ApplyReference(Span<float> values, float bound)
    {
        for (int i = 0; i < values.Length; i++) values[i] = Math.Clamp(values[i], -bound, bound);
    }

    private readonly ref struct ClipKernel(Span<float> values, float bound) : IVectorKernel
    {
        private readonly Span<float> _values = values;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run<TOps, TVec>()
            where TOps : struct, IVectorOps<TVec>
            where TVec : struct
        {
            int n = _values.Length, k = 0;
            ref float v = ref MemoryMarshal.GetReference(_values);
            for (; k <= n - TOps.Width; k += TOps.Width) Body<TOps, TVec>(ref Unsafe.Add(ref v, k), bound);
            for (; k < n; k++) Body<ScalarOps, float>(ref Unsafe.Add(ref v, k), bound);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Body<TOps, TVec>(ref float v, float bound)
            where TOps : struct, IVectorOps<TVec>
            where TVec : struct
        {
            // Bound first: x86 max/min return their second operand when one is NaN, so NaN passes through.
            TOps.Store(TOps.Min(TOps.Broadcast(bound), TOps.Max(TOps.Broadcast(-bound), TOps.Load(ref v))), ref v);
        }
    }
}
