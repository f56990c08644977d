using System.Globalization;

namespace Elmo.Core;

/// <summary>
/// Which layers an <see cref="ElmoEmbedder"/> returns per sentence, as the flags of <c>elmo embed</c> (and AllenNLP's
/// <c>output_format</c>): <see cref="All"/> <c>(L+1, tokens, dim)</c>, or one <c>(tokens, dim)</c> matrix from
/// <see cref="Top"/>, <see cref="Average"/> or a fixed <see cref="Mix"/>. Immutable and thread-safe.
/// </summary>
public sealed class LayerChoice
{
    private readonly float[]? _weights;

    private LayerChoice(OutputLayout layout, float[]? weights, float gamma, bool layerNorm)
    {
        Layout = layout;
        _weights = weights;
        Gamma = gamma;
        LayerNorm = layerNorm;
    }

    /// <summary>Every layer: <c>(L+1, tokens, 2·projection_dim)</c>, layer 0 the token representation <c>[x, x]</c> (<c>--all</c>, AllenNLP's <c>embed_sentence</c>).</summary>
    public static LayerChoice All { get; } = new(OutputLayout.All, null, 1f, false);

    /// <summary>The top biLSTM layer: <c>(tokens, 2·projection_dim)</c> (<c>--top</c>).</summary>
    public static LayerChoice Top { get; } = new(OutputLayout.Top, null, 1f, false);

    /// <summary>The mean of the L+1 layers: <c>(tokens, 2·projection_dim)</c> (<c>--average</c>).</summary>
    public static LayerChoice Average { get; } = new(OutputLayout.Average, null, 1f, false);

    /// <summary>
    /// A fixed scalar mix <c>gamma · Σ_l softmax(w)_l · h_l</c>: <c>(tokens, 2·projection_dim)</c>
    /// (<c>--mix W0,...,WL --gamma G [--layer-norm]</c>). With <paramref name="layerNorm"/> each layer is normalised
    /// over its batch, so results depend on which sentences share a batch; the embedder then batches in input order,
    /// as <c>elmo embed</c> does.
    /// </summary>
    /// <param name="weights">Pre-softmax weights, one per layer (L+1).</param>
    /// <param name="gamma">The scale.</param>
    /// <param name="layerNorm">Layer-normalise each layer over the batch before mixing (AllenNLP's <c>do_layer_norm</c>).</param>
    /// <returns>The choice.</returns>
    /// <exception cref="ArgumentException">No weights, or a weight or gamma that is not finite.</exception>
    public static LayerChoice Mix(IReadOnlyList<float> weights, float gamma = 1f, bool layerNorm = false)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Count == 0) throw new ArgumentException("A mix needs one weight per layer.", nameof(weights));
        if (weights.Any(w => !float.IsFinite(w))) throw new ArgumentException("Mix weights must be finite.", nameof(weights));
        if (!float.IsFinite(gamma)) throw new ArgumentException("Gamma must be finite.", nameof(gamma));
        return new LayerChoice(OutputLayout.Mix, weights.ToArray(), gamma, layerNorm);
    }

    /// <summary>What is produced (the <c>elmo embed</c> layout).</summary>
    public OutputLayout Layout { get; }

    /// <summary>The mix's pre-softmax weights (a copy), or null unless <see cref="Layout"/> is <see cref="OutputLayout.Mix"/>.</summary>
    public IReadOnlyList<float>? MixWeights => _weights?.ToArray();

    /// <summary>The mix's scale (1 unless <see cref="Layout"/> is <see cref="OutputLayout.Mix"/>).</summary>
    public float Gamma { get; }

    /// <summary>Whether the mix layer-normalises each layer over its batch.</summary>
    public bool LayerNorm { get; }

    /// <summary>Whether the result of a sentence depends on the other sentences of its batch (a layer-normalised mix).</summary>
    internal bool DependsOnBatch => Layout == OutputLayout.Mix && LayerNorm;

    /// <summary>A new <see cref="ScalarMix"/> with these weights for <paramref name="options"/>'s layers, or null when this is not a mix.</summary>
    /// <exception cref="ArgumentException">The mix's weight count is not the model's layer count.</exception>
    internal ScalarMix? CreateMix(ElmoOptions options)
    {
        if (_weights is null) return null;
        if (_weights.Length != options.OutputLayers)
        {
            throw new ArgumentException($"The mix has {_weights.Length} weights; this model has {options.OutputLayers} layers (one weight each: W0,...,W{options.OutputLayers - 1}).");
        }
        return new ScalarMix(_weights.Length, _weights, Gamma, LayerNorm, trainable: false);
    }

    /// <summary>The equivalent <c>elmo embed</c> flags, e.g. <c>--mix 0,1,1 --gamma 0.5</c>.</summary>
    /// <returns>The flags.</returns>
    public override string ToString() => Layout switch
    {
        OutputLayout.All => "--all",
        OutputLayout.Top => "--top",
        OutputLayout.Average => "--average",
        _ => "--mix " + string.Join(",", _weights!.Select(w => w.ToString("R", CultureInfo.InvariantCulture)))
            + (Gamma != 1f ? " --gamma " + Gamma.ToString("R", CultureInfo.InvariantCulture) : "")
            + (LayerNorm ? " --layer-norm" : ""),
    };
}
