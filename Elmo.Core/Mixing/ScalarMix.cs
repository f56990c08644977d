namespace Elmo.Core;

/// <summary>
/// AllenNLP's <c>ScalarMix</c>: <c>gamma · Σ_l softmax(w)_l · h_l</c> over the layers of a biLM output,
/// optionally layer-normalising each layer first (one mean and variance over all masked-in positions of
/// the whole batch and all dimensions, epsilon 1e-13).
/// </summary>
public sealed class ScalarMix
{
    /// <summary>Epsilon added to the variance in layer norm (AllenNLP's <c>tiny_value_of_dtype(float32)</c>).</summary>
    public const double LayerNormEpsilon = 1e-13;

    /// <summary>Creates a mix of <paramref name="layers"/> layers with weights 0 (equal) and gamma 1, or the given values.</summary>
    /// <param name="layers">Number of layers mixed.</param>
    /// <param name="weights">Pre-softmax weights (length <paramref name="layers"/>); null for zeros.</param>
    /// <param name="gamma">The scale.</param>
    /// <param name="layerNorm">Layer-normalise each layer before mixing.</param>
    public ScalarMix(int layers, IReadOnlyList<float>? weights = null, float gamma = 1f, bool layerNorm = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        if (weights is not null && weights.Count != layers)
        {
            throw new ArgumentException($"{weights.Count} mix weights given for {layers} layers.", nameof(weights));
        }
        if (weights is not null && weights.Any(w => !float.IsFinite(w)))
        {
            throw new ArgumentException("Mix weights must be finite.", nameof(weights));
        }
        if (!float.IsFinite(gamma)) throw new ArgumentException("Gamma must be finite.", nameof(gamma));
        Weights = weights?.ToArray() ?? new float[layers];
        Gamma = gamma;
        LayerNorm = layerNorm;
    }

    /// <summary>Pre-softmax layer weights (mutable: training updates them in place).</summary>
    public float[] Weights { get; }

    /// <summary>The scale applied to the mixed vector.</summary>
    public float Gamma { get; set; }

    /// <summary>Whether each layer is layer-normalised before mixing.</summary>
    public bool LayerNorm { get; }

    /// <summary>Number of layers mixed.</summary>
    public int LayerCount => Weights.Length;

    /// <summary><c>softmax(Weights)</c>.</summary>
    /// <returns>The normalised weights.</returns>
    public float[] NormalizedWeights()
    {
        float max = Weights.Max();
        var e = Weights.Select(w => MathF.Exp(w - max)).ToArray();
        float sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    /// <summary>
    /// Mixes the layers of <paramref name="output"/> over its own positions (with boundaries when it has them, as
    /// AllenNLP's <c>Elmo</c> does before removing them): <c>(batch, timesteps, dim)</c> row-major, zero at padding
    /// unless layer norm shifts it.
    /// </summary>
    /// <param name="output">The biLM layers.</param>
    /// <returns>The mixed representation.</returns>
    public float[] Mix(BiLmOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (output.LayerCount != LayerCount)
        {
            throw new ArgumentException($"The mix has {LayerCount} weights but the output has {output.LayerCount} layers.", nameof(output));
        }
        int size = output.BatchSize * output.Timesteps * output.Dim;
        var result = new float[size];
        var w = NormalizedWeights();
        for (int l = 0; l < LayerCount; l++)
        {
            var layer = output.Layers.AsSpan(l * size, size);
            if (LayerNorm)
            {
                var (mean, invStd) = LayerStatistics(layer, output.Mask, output.Dim);
                for (int i = 0; i < size; i++) result[i] += w[l] * (float)((layer[i] - mean) * invStd);
            }
            else
            {
                for (int i = 0; i < size; i++) result[i] += w[l] * layer[i];
            }
        }
        for (int i = 0; i < size; i++) result[i] *= Gamma;
        return result;
    }

    /// <summary>Mean and 1/√(variance + ε) of one layer over its masked-in positions and all dimensions.</summary>
    internal static (double Mean, double InvStd) LayerStatistics(ReadOnlySpan<float> layer, ReadOnlySpan<byte> mask, int dim)
    {
        double sum = 0;
        long count = 0;
        for (int t = 0; t < mask.Length; t++)
        {
            if (mask[t] == 0) continue;
            foreach (float v in layer.Slice(t * dim, dim)) sum += v;
            count += dim;
        }
        double mean = count == 0 ? 0 : sum / count;
        double sq = 0;
        for (int t = 0; t < mask.Length; t++)
        {
            if (mask[t] == 0) continue;
            foreach (float v in layer.Slice(t * dim, dim)) sq += (v - mean) * (v - mean);
        }
        double variance = count == 0 ? 0 : sq / count;
        return (mean, 1.0 / Math.Sqrt(variance + LayerNormEpsilon));
    }
}
