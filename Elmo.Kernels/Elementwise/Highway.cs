using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Elmo.Kernels.Simd;

namespace Elmo.Kernels;

/// <summary>
/// The element-wise combine of a highway layer (bilm-tf form):
/// <c>g = σ(carry)</c>, <c>y = g·relu(transform) + (1 − g)·x</c>.
/// </summary>
public static class Highway
{
    /// <summary>
    /// Combines one row in place: <paramref name="x"/> becomes <c>x + σ(carry)·(relu(transform) − x)</c>.
    /// </summary>
    /// <param name="x">Layer input (F); overwritten with the layer output.</param>
    /// <param name="transformAndCarry">Pre-activations <c>[x·W_t + b_t | x·W_c + b_c]</c> (2·F); not modified.</param>
    public static void Combine(Span<float> x, ReadOnlySpan<float> transformAndCarry) => Combine(x, transformAndCarry, null);

    /// <summary><see cref="Combine(Span{float}, ReadOnlySpan{float})"/> on a chosen path (tests).</summary>
    internal static void Combine(Span<float> x, ReadOnlySpan<float> transformAndCarry, KernelPath? path)
    {
        if (transformAndCarry.Length != 2 * x.Length) throw new ArgumentException($"Pre-activations hold {transformAndCarry.Length} values, expected 2 × {x.Length}.", nameof(transformAndCarry));
        var kernel = new CombineKernel(x, transformAndCarry);
        VectorKernel.Run(ref kernel, path);
    }

    /// <summary>Scalar reference for <see cref="Combine(Span{float}, ReadOnlySpan{float})"/> in double precision, in the textbook form.</summary>
    /// <param name="x">Layer input (F); overwritten with the layer output.</param>
    /// <param name="transformAndCarry">Pre-activations (2·F); not modified.</param>
    public static void CombineReference(Span<float> x, ReadOnlySpan<float> transformAndCarry)
    {
        int f = x.Length;
        for (int k = 0; k < f; k++)
        {
            double g = 1.0 / (1.0 + Math.Exp(-transformAndCarry[f + k]));
            double t = Math.Max(0.0, transformAndCarry[k]);
            x[k] = (float)(g * t + (1 - g) * x[k]);
        }
    }

    private readonly ref struct CombineKernel(Span<float> x, ReadOnlySpan<float> transformAndCarry) : IVectorKernel
    {
        private readonly Span<float> _x = x;
        private readonly ReadOnlySpan<float> _pre = transformAndCarry;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run<TOps, TVec>()
            where TOps : struct, IVectorOps<TVec>
            where TVec : struct
        {
            int n = _x.Length, k = 0;
            ref float x = ref MemoryMarshal.GetReference(_x);
            ref float pre = ref MemoryMarshal.GetReference(_pre);
            for (; k <= n - TOps.Width; k += TOps.Width) Body<TOps, TVec>(ref x, ref pre, n, k);
            for (; k < n; k++) Body<ScalarOps, float>(ref x, ref pre, n, k);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Body<TOps, TVec>(ref float x, ref float pre, int n, int k)
            where TOps : struct, IVectorOps<TVec>
            where TVec : struct
        {
            TVec xv = TOps.Load(ref Unsafe.Add(ref x, k));
            TVec t = TOps.Max(TOps.Zero, TOps.Load(ref Unsafe.Add(ref pre, k)));
            TVec g = VectorMath.Sigmoid<TOps, TVec>(TOps.Load(ref Unsafe.Add(ref pre, n + k)));
            TOps.Store(TOps.MultiplyAdd(g, TOps.Subtract(t, xv), xv), ref Unsafe.Add(ref x, k)); // x + g·(relu(t) − x)
        }
    }
}
