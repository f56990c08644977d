using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Elmo.Kernels.Simd;

namespace Elmo.Kernels.Convolution;

/// <summary>Max over positions of a convolution output, then bias and activation, per token.</summary>
public static class MaxPool
{
    /// <summary>
    /// For each of <paramref name="tokens"/> tokens, takes the maximum over <paramref name="positions"/>
    /// consecutive rows of <paramref name="convolved"/> (token t's rows start at <c>t · tokenStride</c>,
    /// each row <paramref name="width"/> wide), adds <paramref name="bias"/> and applies the activation.
    /// </summary>
    /// <param name="convolved">Convolution outputs, row-major with row length <paramref name="width"/>.</param>
    /// <param name="tokens">Number of tokens.</param>
    /// <param name="tokenStride">Rows between the first rows of consecutive tokens.</param>
    /// <param name="positions">Valid output positions per token (at least 1).</param>
    /// <param name="width">Filters (row length).</param>
    /// <param name="bias">Per-filter bias (length <paramref name="width"/>).</param>
    /// <param name="tanh">Apply tanh instead of relu.</param>
    /// <param name="destination">Output rows; token t's row starts at <c>t · ldd</c>.</param>
    /// <param name="ldd">Row stride of <paramref name="destination"/>.</param>
    public static void Apply(ReadOnlySpan<float> convolved, int tokens, int tokenStride, int positions, int width, ReadOnlySpan<float> bias, bool tanh, Span<float> destination, int ldd) =>
        Apply(convolved, tokens, tokenStride, positions, width, bias, tanh, destination, ldd, null);

    /// <summary>The same on a chosen path (tests).</summary>
    internal static void Apply(ReadOnlySpan<float> convolved, int tokens, int tokenStride, int positions, int width, ReadOnlySpan<float> bias, bool tanh, Span<float> destination, int ldd, KernelPath? path)
    {
        if (positions < 1) throw new ArgumentOutOfRangeException(nameof(positions), positions, "At least one position is needed.");
        if (bias.Length != width) throw new ArgumentException($"Bias holds {bias.Length} values, expected {width}.", nameof(bias));
        if (tokens <= 0) return;
        if (convolved.Length < ((long)(tokens - 1) * tokenStride + positions) * width) throw new ArgumentException("Convolution output too short for the tokens and positions.", nameof(convolved));
        if (destination.Length < (long)(tokens - 1) * ldd + width) throw new ArgumentException("Destination too short for the tokens.", nameof(destination));
        var kernel = new PoolKernel(convolved, tokens, tokenStride, positions, width, bias, tanh, destination, ldd);
        VectorKernel.Run(ref kernel, path);
    }

    /// <summary>Scalar reference for <see cref="Apply(ReadOnlySpan{float}, int, int, int, int, ReadOnlySpan{float}, bool, Span{float}, int)"/>, same signature.</summary>
    /// <param name="convolved">Convolution outputs.</param>
    /// <param name="tokens">Number of tokens.</param>
    /// <param name="tokenStride">Rows between consecutive tokens.</param>
    /// <param name="positions">Valid positions per token.</param>
    /// <param name="width">Filters.</param>
    /// <param name="bias">Per-filter bias.</param>
    /// <param name="tanh">Apply tanh instead of relu.</param>
    /// <param name="destination">Output rows.</param>
    /// <param name="ldd">Row stride of the output.</param>
    public static void ApplyReference(ReadOnlySpan<float> convolved, int tokens, int tokenStride, int positions, int width, ReadOnlySpan<float> bias, bool tanh, Span<float> destination, int ldd)
    {
        for (int t = 0; t < tokens; t++)
        {
            for (int f = 0; f < width; f++)
            {
                float m = float.NegativeInfinity;
                for (int p = 0; p < positions; p++) m = Math.Max(m, convolved[(t * tokenStride + p) * width + f]);
                double v = (double)m + bias[f];
                destination[t * ldd + f] = (float)(tanh ? Math.Tanh(v) : Math.Max(0.0, v));
            }
        }
    }

    private readonly ref struct PoolKernel(
        ReadOnlySpan<float> convolved, int tokens, int tokenStride, int positions, int width, ReadOnlySpan<float> bias, bool tanh, Span<float> destination, int ldd)
        : IVectorKernel
    {
        private readonly ReadOnlySpan<float> _convolved = convolved;
        private readonly ReadOnlySpan<float> _bias = bias;
        private readonly Span<float> _destination = destination;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run<TOps, TVec>()
            where TOps : struct, IVectorOps<TVec>
            where TVec : struct
        {
            ref float src = ref MemoryMarshal.GetReference(_convolved);
            ref float b = ref MemoryMarshal.GetReference(_bias);
            ref float dst = ref MemoryMarshal.GetReference(_destination);
            for (int t = 0; t < tokens; t++)
            {
                ref float rows = ref Unsafe.Add(ref src, (nint)t * tokenStride * width);
                ref float d = ref Unsafe.Add(ref dst, (nint)t * ldd);
                int f = 0;
                for (; f <= width - TOps.Width; f += TOps.Width) Body<TOps, TVec>(ref rows, ref b, ref d, f, positions, width, tanh);
                for (; f < width; f++) Body<ScalarOps, float>(ref rows, ref b, ref d, f, positions, width, tanh);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Body<TOps, TVec>(ref float rows, ref float bias, ref float d, int f, int positions, int width, bool tanh)
            where TOps : struct, IVectorOps<TVec>
            where TVec : struct
        {
            TVec m = TOps.Load(ref Unsafe.Add(ref rows, f));
            for (int p = 1; p < positions; p++) m = TOps.Max(TOps.Load(ref Unsafe.Add(ref rows, (nint)p * width + f)), m);
            m = TOps.Add(m, TOps.Load(ref Unsafe.Add(ref bias, f)));
            m = tanh ? VectorMath.Tanh<TOps, TVec>(m) : TOps.Max(TOps.Zero, m);
            TOps.Store(m, ref Unsafe.Add(ref d, f));
        }
    }
}
