namespace Elmo.Core;

/// <summary>
/// AllenNLP's <c>ScalarMix</c>: <c>gamma · Σ_l softmax(w)_l · h_l</c> over the layers of a biLM output,
/// optionally layer-normalising each layer first (one mean and variance over all masked-in positions of
/// the whole batch and all dimensions, epsilon 1e-13). Trainable: <see cref="Backward(BiLmOutput, ReadOnlySpan{float})"/>
/// accumulates the gradients of <see cref="Weights"/> and <see cref="Gamma"/> from the gradient of a loss with
/// respect to the mixed representation, and an optimizer (<see cref="SgdOptimizer"/>, <see cref="AdamOptimizer"/>)
/// applies them. Not thread-safe while training.
/// </summary>
/// <example>
/// <code>
/// var mix = new ScalarMix(output.LayerCount);
/// float[] mixed = mix.Mix(output);                 // (batch, timesteps, dim)
/// mix.Backward(output, lossGradientWrtMixed);     // accumulates WeightGradients and GammaGradient
/// new AdamOptimizer([mix], 0.01f).Step();
/// </code>
/// </example>
public sealed class ScalarMix
{
    /// <summary>Epsilon added to the variance in layer norm (AllenNLP's <c>tiny_value_of_dtype(float32)</c>).</summary>
    public const double LayerNormEpsilon = 1e-13;

    /// <summary>Creates a mix of <paramref name="layers"/> layers with weights 0 (equal) and gamma 1, or the given values.</summary>
    /// <param name="layers">Number of layers mixed.</param>
    /// <param name="weights">Pre-softmax weights (length <paramref name="layers"/>); null for zeros.</param>
    /// <param name="gamma">The scale.</param>
    /// <param name="layerNorm">Layer-normalise each layer before mixing.</param>
    /// <param name="trainable">Whether optimizers update this mix (AllenNLP's <c>trainable</c>); gradients are computed either way.</param>
    /// <param name="l2Coefficient">
    /// bilm-tf's <c>weight_layers(l2_coef=...)</c>: the penalty <c>l2 · Σ w²</c> on the pre-softmax weights
    /// (<see cref="RegularizationLoss"/>); 0 for none.
    /// </param>
    public ScalarMix(int layers, IReadOnlyList<float>? weights = null, float gamma = 1f, bool layerNorm = false, bool trainable = true, float l2Coefficient = 0f)
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
        if (!float.IsFinite(l2Coefficient) || l2Coefficient < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(l2Coefficient), l2Coefficient, "The L2 coefficient must be finite and ≥ 0.");
        }
        Weights = weights?.ToArray() ?? new float[layers];
        Gamma = gamma;
        LayerNorm = layerNorm;
        Trainable = trainable;
        L2Coefficient = l2Coefficient;
        WeightGradients = new float[layers];
    }

    /// <summary>Pre-softmax layer weights (mutable: training updates them in place).</summary>
    public float[] Weights { get; }

    /// <summary>The scale applied to the mixed vector.</summary>
    public float Gamma { get; set; }

    /// <summary>Whether each layer is layer-normalised before mixing.</summary>
    public bool LayerNorm { get; }

    /// <summary>Whether optimizers update this mix.</summary>
    public bool Trainable { get; set; }

    /// <summary>Coefficient of the L2 penalty <c>l2 · Σ w²</c> on <see cref="Weights"/> (bilm-tf's <c>l2_coef</c>); 0 for none.</summary>
    public float L2Coefficient { get; }

    /// <summary>Number of layers mixed.</summary>
    public int LayerCount => Weights.Length;

    /// <summary>
    /// <c>dL/dw</c> accumulated by <see cref="Backward(BiLmOutput, ReadOnlySpan{float})"/> since the last
    /// <see cref="ZeroGradients"/> (the data loss only; see <see cref="RegularizedWeightGradients"/>).
    /// </summary>
    public float[] WeightGradients { get; }

    /// <summary><c>dL/dgamma</c> accumulated since the last <see cref="ZeroGradients"/>.</summary>
    public float GammaGradient { get; set; }

    /// <summary>The L2 penalty <c>l2 · Σ w²</c> of the current weights (bilm-tf adds it to the training loss).</summary>
    public float RegularizationLoss
    {
        get
        {
            double sum = 0;
            foreach (float w in Weights) sum += (double)w * w;
            return (float)(L2Coefficient * sum);
        }
    }

    /// <summary>Sets the accumulated gradients to zero.</summary>
    public void ZeroGradients()
    {
        Array.Clear(WeightGradients);
        GammaGradient = 0f;
    }

    /// <summary>
    /// The gradient of (accumulated loss + <see cref="RegularizationLoss"/>) with respect to <see cref="Weights"/>:
    /// <see cref="WeightGradients"/> + <c>2 · l2 · w</c>. This is what optimizers apply.
    /// </summary>
    /// <returns>A new array.</returns>
    public float[] RegularizedWeightGradients()
    {
        var g = new float[LayerCount];
        for (int l = 0; l < g.Length; l++) g[l] = WeightGradients[l] + 2f * L2Coefficient * Weights[l];
        return g;
    }

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
        CheckLayers(output.LayerCount, nameof(output));
        var result = new float[output.BatchSize * output.Timesteps * output.Dim];
        Mix(output.Layers, output.Mask, output.Dim, result);
        return result;
    }

    /// <summary>
    /// Mixes <see cref="LayerCount"/> layers given as one span <c>(layers, positions, dim)</c> row-major, where
    /// <paramref name="mask"/> (one byte per position, 1 = in) selects the positions the layer-norm statistics use.
    /// </summary>
    /// <param name="layers">The layers, <c>LayerCount × mask.Length × dim</c> values.</param>
    /// <param name="mask">One byte per position.</param>
    /// <param name="dim">Values per position.</param>
    /// <param name="destination">Exactly <c>mask.Length × dim</c> values, overwritten.</param>
    public void Mix(ReadOnlySpan<float> layers, ReadOnlySpan<byte> mask, int dim, Span<float> destination)
    {
        int size = CheckShapes(layers, mask, dim, destination.Length, nameof(destination));
        var w = NormalizedWeights();
        var result = destination;
        result.Clear();
        for (int l = 0; l < LayerCount; l++)
        {
            var layer = layers.Slice(l * size, size);
            if (LayerNorm)
            {
                var (mean, invStd) = LayerStatistics(layer, mask, dim);
                for (int i = 0; i < size; i++) result[i] += w[l] * (float)((layer[i] - mean) * invStd);
            }
            else
            {
                for (int i = 0; i < size; i++) result[i] += w[l] * layer[i];
            }
        }
        for (int i = 0; i < size; i++) result[i] *= Gamma;
    }

    /// <summary>
    /// Accumulates into <see cref="WeightGradients"/> and <see cref="GammaGradient"/> the gradients of a loss
    /// <c>L</c> whose gradient with respect to the output of <see cref="Mix(BiLmOutput)"/> on
    /// <paramref name="output"/> is <paramref name="gradient"/>.
    /// </summary>
    /// <param name="output">The biLM layers that were mixed.</param>
    /// <param name="gradient"><c>dL/d(mixed)</c>, <c>(batch, timesteps, dim)</c> like the mixed representation.</param>
    public void Backward(BiLmOutput output, ReadOnlySpan<float> gradient)
    {
        ArgumentNullException.ThrowIfNull(output);
        CheckLayers(output.LayerCount, nameof(output));
        Backward(output.Layers, output.Mask, output.Dim, gradient);
    }

    /// <summary>
    /// <see cref="Backward(BiLmOutput, ReadOnlySpan{float})"/> for layers given as one span, as in
    /// <see cref="Mix(ReadOnlySpan{float}, ReadOnlySpan{byte}, int, Span{float})"/>.
    /// </summary>
    /// <param name="layers">The layers that were mixed, <c>LayerCount × mask.Length × dim</c> values.</param>
    /// <param name="mask">One byte per position (the layer-norm statistics).</param>
    /// <param name="dim">Values per position.</param>
    /// <param name="gradient"><c>dL/d(mixed)</c>, <c>mask.Length × dim</c> values.</param>
    public void Backward(ReadOnlySpan<float> layers, ReadOnlySpan<byte> mask, int dim, ReadOnlySpan<float> gradient)
    {
        int size = CheckShapes(layers, mask, dim, gradient.Length, nameof(gradient));
        var s = NormalizedWeights();
        var g = gradient;

        // dot_l = Σ_i g_i · ĥ_l,i where ĥ_l is layer l as it enters the mix (layer-normalised or not). The layer-norm
        // statistics depend on the layer only, not on w or gamma, so they are constants here.
        var dot = new double[LayerCount];
        for (int l = 0; l < LayerCount; l++)
        {
            var layer = layers.Slice(l * size, size);
            double acc = 0;
            if (LayerNorm)
            {
                var (mean, invStd) = LayerStatistics(layer, mask, dim);
                for (int i = 0; i < size; i++) acc += g[i] * (float)((layer[i] - mean) * invStd);
            }
            else
            {
                for (int i = 0; i < size; i++) acc += (double)g[i] * layer[i];
            }
            dot[l] = acc;
        }

        // mixed = gamma · Σ_l s_l ĥ_l:  dL/dgamma = Σ_l s_l dot_l;  dL/ds_l = gamma · dot_l;
        // through the softmax: dL/dw_j = s_j (dL/ds_j − Σ_l s_l dL/ds_l).
        double dGamma = 0;
        for (int l = 0; l < LayerCount; l++) dGamma += s[l] * dot[l];
        for (int j = 0; j < LayerCount; j++)
        {
            WeightGradients[j] += (float)(s[j] * Gamma * (dot[j] - dGamma));
        }
        GammaGradient += (float)dGamma;
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

    private void CheckLayers(int layers, string parameter)
    {
        if (layers != LayerCount)
        {
            throw new ArgumentException($"The mix has {LayerCount} weights but the output has {layers} layers.", parameter);
        }
    }

    private int CheckShapes(ReadOnlySpan<float> layers, ReadOnlySpan<byte> mask, int dim, int otherLength, string otherName)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        int size = mask.Length * dim;
        if (layers.Length != (long)LayerCount * size)
        {
            throw new ArgumentException($"The layers hold {layers.Length} values; {LayerCount} layers of {mask.Length} positions × {dim} need {(long)LayerCount * size}.", nameof(layers));
        }
        if (otherLength != size)
        {
            throw new ArgumentException($"{otherName} holds {otherLength} values; {mask.Length} positions × {dim} are {size}.", otherName);
        }
        return size;
    }
}
