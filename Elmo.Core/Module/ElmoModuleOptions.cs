namespace Elmo.Core;

/// <summary>
/// Settings of an <see cref="ElmoModule"/>, named after the arguments of AllenNLP's <c>Elmo</c> (and bilm-tf's
/// <c>weight_layers</c> for <see cref="TopLayerOnly"/> and <see cref="L2Coefficient"/>).
/// </summary>
public sealed record ElmoModuleOptions
{
    /// <summary>Dropout probability on each output representation while <see cref="ElmoModule.Training"/> (AllenNLP's default 0.5); in [0, 1).</summary>
    public float Dropout { get; init; } = 0.5f;

    /// <summary>Layer-normalise each biLM layer before mixing (AllenNLP's <c>do_layer_norm</c>).</summary>
    public bool DoLayerNorm { get; init; }

    /// <summary>Keep the <c>&lt;S&gt;</c> / <c>&lt;/S&gt;</c> positions in the output (AllenNLP's <c>keep_sentence_boundaries</c>).</summary>
    public bool KeepSentenceBoundaries { get; init; }

    /// <summary>
    /// bilm-tf's <c>use_top_only</c>: each representation is <c>gamma · top layer</c> (a one-layer mix, so only gamma
    /// is learned) instead of a mix of all layers.
    /// </summary>
    public bool TopLayerOnly { get; init; }

    /// <summary>
    /// Initial pre-softmax weights of every mix (AllenNLP's <c>scalar_mix_parameters</c>; one per layer, or one
    /// with <see cref="TopLayerOnly"/>). Null for zeros.
    /// </summary>
    public IReadOnlyList<float>? ScalarMixParameters { get; init; }

    /// <summary>
    /// Whether the mixes are trainable. Null (the default) follows AllenNLP: trainable unless
    /// <see cref="ScalarMixParameters"/> is given.
    /// </summary>
    public bool? TrainableMixes { get; init; }

    /// <summary>bilm-tf's <c>l2_coef</c>: an L2 penalty <c>l2 · Σ w²</c> on the pre-softmax weights of each mix; 0 for none.</summary>
    public float L2Coefficient { get; init; }

    /// <summary>
    /// Tokens whose context-independent vectors are precomputed (AllenNLP's <c>vocab_to_cache</c>); see
    /// <see cref="TokenVectorCache"/>. Null for none.
    /// </summary>
    public IReadOnlyList<string>? VocabularyToCache { get; init; }

    /// <summary>Seed of the dropout random numbers.</summary>
    public int Seed { get; init; }
}
