using System.Numerics.Tensors;

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
    public static void Apply(ReadOnlySpan<float> convolved, int tokens, int tokenStride, int positions, int width, ReadOnlySpan<float> bias, bool tanh, Span<float> destination, int ldd)
    {
        if (positions < 1) throw new ArgumentOutOfRangeException(nameof(positions), positions, "At least one position is needed.");
        if (bias.Length != width) throw new ArgumentException($"Bias holds {bias.Length} values, expected {width}.", nameof(bias));
        for (int t = 0; t < tokens; t++)
        {
            Span<float> d = destination.Slice(t * ldd, width);
            int r0 = t * tokenStride;
            convolved.Slice(r0 * width, width).CopyTo(d);
            for (int p = 1; p < positions; p++)
            {
                TensorPrimitives.Max(d, convolved.Slice((r0 + p) * width, width), d);
            }
            TensorPrimitives.Add(d, bias, d);
            if (tanh) TensorPrimitives.Tanh(d, d);
            else TensorPrimitives.Max(d, 0f, d);
        }
    }

    /// <summary>Scalar reference for <see cref="Apply"/>, same signature.</summary>
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
}
