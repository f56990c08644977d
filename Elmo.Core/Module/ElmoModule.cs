namespace Elmo.Core;

/// <summary>
/// The equivalent of AllenNLP's <c>Elmo</c> module: one frozen biLM run per batch and
/// <c>num_output_representations</c> independent, trainable <see cref="ScalarMix"/>es over its layers, with
/// optional layer norm, dropout while training, sentence boundaries kept or removed, a top-layer-only mode and a
/// cache of token vectors for a vocabulary. The mixes start equal (weights 0, gamma 1), so fresh representations
/// are identical; they become different only when trained on different objectives (see docs/representations.md).
/// Not thread-safe (it runs one <see cref="ElmoSession"/>): use one module per thread.
/// </summary>
/// <example>
/// <code>
/// var elmo = new ElmoModule(ElmoModel.Load("options.json", "weights.hdf5"), representations: 2);
/// var output = elmo.Forward([["The", "cat", "sat", "."], ["Hi"]]);
/// float[] forInput = output.Representations[0];    // (2, 4, 1024)
/// float[] forOutput = output.Representations[1];   // equal to forInput until the mixes are trained
/// </code>
/// </example>
public sealed class ElmoModule
{
    private readonly Random _random;

    /// <summary>
    /// Creates a module over a new session of <paramref name="model"/> in <paramref name="mode"/> (default
    /// <see cref="ElmoModel.DefaultStateMode"/>, warm, like every other entry point; the warm state is
    /// <see cref="ElmoModel.WarmState"/>).
    /// </summary>
    /// <param name="model">The biLM.</param>
    /// <param name="representations">Number of output representations (AllenNLP's <c>num_output_representations</c>), ≥ 1.</param>
    /// <param name="options">Settings; null for AllenNLP's defaults.</param>
    /// <param name="mode">How the biLM's states start: warm (default), <see cref="StateMode.Stateless"/> (AllenNLP's
    /// <c>Elmo</c> module when it is reset every batch) or <see cref="StateMode.Stateful"/> (AllenNLP's default).</param>
    public ElmoModule(ElmoModel model, int representations, ElmoModuleOptions? options = null, StateMode mode = ElmoModel.DefaultStateMode)
        : this(CreateSession(model, mode), representations, options)
    {
    }

    /// <summary>Creates a module that runs the biLM through <paramref name="session"/> (its state mode applies).</summary>
    /// <param name="session">The session; the module uses it exclusively from now on.</param>
    /// <param name="representations">Number of output representations, ≥ 1.</param>
    /// <param name="options">Settings; null for AllenNLP's defaults.</param>
    public ElmoModule(ElmoSession session, int representations, ElmoModuleOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentOutOfRangeException.ThrowIfLessThan(representations, 1);
        options ??= new ElmoModuleOptions();
        if (!(options.Dropout >= 0 && options.Dropout < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Dropout, "Dropout must be in [0, 1).");
        }
        Session = session;
        Options = options;
        int layers = options.TopLayerOnly ? 1 : session.Model.Options.OutputLayers;
        if (options.ScalarMixParameters is { } initial && initial.Count != layers)
        {
            throw new ArgumentException(
                $"{initial.Count} scalar mix parameters given; the mixes have {layers} layer{(layers == 1 ? string.Empty : "s")}.", nameof(options));
        }
        bool trainable = options.TrainableMixes ?? options.ScalarMixParameters is null;
        Mixes = Enumerable.Range(0, representations)
            .Select(_ => new ScalarMix(layers, options.ScalarMixParameters, 1f, options.DoLayerNorm, trainable, options.L2Coefficient))
            .ToArray();
        if (options.VocabularyToCache is { } vocabulary)
        {
            VocabularyCache = new TokenVectorCache(session.Model, vocabulary, session.Threads);
            session.TokenCache = VocabularyCache;
        }
        _random = new Random(options.Seed);
    }

    /// <summary>The session that runs the biLM.</summary>
    public ElmoSession Session { get; }

    /// <summary>The biLM.</summary>
    public ElmoModel Model => Session.Model;

    /// <summary>The settings.</summary>
    public ElmoModuleOptions Options { get; }

    /// <summary>One mix per output representation.</summary>
    public IReadOnlyList<ScalarMix> Mixes { get; }

    /// <summary>The token vector cache built from <see cref="ElmoModuleOptions.VocabularyToCache"/>, or null.</summary>
    public TokenVectorCache? VocabularyCache { get; }

    /// <summary>Training mode: dropout is applied to the outputs. Off (inference) by default.</summary>
    public bool Training { get; set; }

    /// <summary>Runs the biLM on tokenised sentences and mixes its layers.</summary>
    /// <param name="sentences">Sentences as lists of tokens.</param>
    /// <returns>The representations.</returns>
    /// <exception cref="ElmoInputException">A sentence is null.</exception>
    public ElmoModuleOutput Forward(IReadOnlyList<IReadOnlyList<string>> sentences) => Forward(Session.Run(sentences));

    /// <summary>Runs the biLM on a character-id tensor (AllenNLP's <c>batch_to_ids</c> output) and mixes its layers.</summary>
    /// <param name="characterIds">The ids.</param>
    /// <returns>The representations.</returns>
    /// <exception cref="ElmoInputException">The ids are malformed.</exception>
    public ElmoModuleOutput Forward(CharacterIds characterIds) => Forward(Session.Run(characterIds));

    /// <summary>
    /// Mixes the layers of a biLM output that still has its boundary positions (as <see cref="ElmoSession.Run(IReadOnlyList{IReadOnlyList{string}})"/>
    /// returns it), exactly as AllenNLP's <c>Elmo.forward</c> does after running its biLM: each mix over all positions
    /// with boundaries (the layer-norm statistics include them), then the boundaries removed unless kept, then dropout
    /// when training.
    /// </summary>
    /// <param name="biLm">The biLM output, with boundaries, of this module's model.</param>
    /// <returns>The representations.</returns>
    public ElmoModuleOutput Forward(BiLmOutput biLm)
    {
        ArgumentNullException.ThrowIfNull(biLm);
        if (!biLm.IncludesBoundaries) throw new ArgumentException("The biLM output must include its boundary positions (do not call WithoutBoundaries first).", nameof(biLm));
        if (biLm.LayerCount != Model.Options.OutputLayers || biLm.Dim != Model.Options.OutputDim)
        {
            throw new ArgumentException($"The biLM output has {biLm.LayerCount} layers of width {biLm.Dim}; this module's model has {Model.Options.OutputLayers} of width {Model.Options.OutputDim}.", nameof(biLm));
        }
        int batch = biLm.BatchSize, t = biLm.Timesteps, d = biLm.Dim;
        bool keep = Options.KeepSentenceBoundaries;
        int outT = keep ? t : Math.Max(0, t - 2);
        var lengths = keep ? (int[])biLm.Lengths.Clone() : biLm.Lengths.Select(n => n - 2).ToArray();
        var mask = new byte[batch * outT];
        for (int b = 0; b < batch; b++) mask.AsSpan(b * outT, lengths[b]).Fill(1);

        var representations = new float[Mixes.Count][];
        var dropout = new float[]?[Mixes.Count];
        var parameters = new (float[], float)[Mixes.Count];
        var mixed = keep ? null : new float[batch * t * d];
        for (int k = 0; k < Mixes.Count; k++)
        {
            var mix = Mixes[k];
            parameters[k] = (mix.Weights.ToArray(), mix.Gamma);

            // (layers, batch, T, D) with boundaries -> (batch, T, D)
            var full = mixed ?? new float[batch * t * d];
            mix.Mix(MixedLayers(biLm), biLm.Mask, d, full);

            // (batch, T, D) -> (batch, T − 2, D): AllenNLP's remove_sentence_boundaries (padding becomes 0)
            float[] representation = keep ? full : RemoveBoundaries(full, biLm, outT);

            if (Training && Options.Dropout > 0)
            {
                // Inverted dropout as torch.nn.Dropout: keep with probability 1 − p and scale by 1 / (1 − p).
                float scale = 1f / (1f - Options.Dropout);
                var scales = new float[representation.Length];
                for (int i = 0; i < scales.Length; i++)
                {
                    scales[i] = _random.NextSingle() < Options.Dropout ? 0f : scale;
                    representation[i] *= scales[i];
                }
                dropout[k] = scales;
            }
            representations[k] = representation;
        }
        return new ElmoModuleOutput(this, biLm, representations, dropout, parameters, mask, lengths, outT, keep);
    }

    /// <summary>
    /// Accumulates into <see cref="Mixes"/>[<paramref name="representation"/>] the gradients of its weights and gamma
    /// for a loss whose gradient with respect to <c>output.Representations[representation]</c> is
    /// <paramref name="gradient"/> (through dropout, boundary removal, the mix, the softmax and layer norm). Call it
    /// before an optimizer changes the mix.
    /// </summary>
    /// <param name="output">An output of this module's <see cref="Forward(BiLmOutput)"/>.</param>
    /// <param name="representation">Which representation the gradient belongs to.</param>
    /// <param name="gradient"><c>dL/d(representation)</c>, <c>(BatchSize, Timesteps, Dim)</c> like the representation.</param>
    /// <exception cref="InvalidOperationException">The mix changed since <paramref name="output"/> was computed.</exception>
    public void Backward(ElmoModuleOutput output, int representation, ReadOnlySpan<float> gradient)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!ReferenceEquals(output.Owner, this)) throw new ArgumentException("The output was computed by another module.", nameof(output));
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)representation, (uint)Mixes.Count, nameof(representation));
        var mix = Mixes[representation];
        var (weights, gamma) = output.Parameters[representation];
        if (!weights.AsSpan().SequenceEqual(mix.Weights) || gamma != mix.Gamma)
        {
            throw new InvalidOperationException($"Mix {representation} changed after this output was computed; call Backward before the optimizer step.");
        }
        var biLm = output.BiLm;
        int t = biLm.Timesteps, d = biLm.Dim, size = output.BatchSize * output.Timesteps * d;
        if (gradient.Length != size)
        {
            throw new ArgumentException($"The gradient holds {gradient.Length} values; the representation has {size}.", nameof(gradient));
        }

        // Through dropout: the same multipliers.
        var g = gradient.ToArray();
        if (output.DropoutScales[representation] is { } scales)
        {
            for (int i = 0; i < g.Length; i++) g[i] *= scales[i];
        }

        // Back through the boundary removal: position p of a row came from position p + 1; boundaries and padding got none.
        var full = g;
        if (!output.IncludesBoundaries)
        {
            full = new float[output.BatchSize * t * d];
            for (int b = 0; b < output.BatchSize; b++)
            {
                g.AsSpan(b * output.Timesteps * d, output.Lengths[b] * d).CopyTo(full.AsSpan((b * t + 1) * d));
            }
        }
        mix.Backward(MixedLayers(biLm), biLm.Mask, d, full);
    }

    /// <summary>Clears the accumulated gradients of every mix.</summary>
    public void ZeroGradients()
    {
        foreach (var mix in Mixes) mix.ZeroGradients();
    }

    /// <summary>Saves the parameters of every mix (see <see cref="ScalarMixFile"/>).</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="ElmoOutputException">The file cannot be written.</exception>
    public void SaveMixes(string path) => ScalarMixFile.Save(path, Mixes);

    /// <summary>Loads the parameters of every mix saved by <see cref="SaveMixes"/> (weights, gamma and trainability).</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="ElmoWeightsException">The file is bad, or its mixes do not fit this module (count, layers, layer norm, L2 coefficient).</exception>
    public void LoadMixes(string path)
    {
        var loaded = ScalarMixFile.Load(path);
        if (loaded.Count != Mixes.Count)
        {
            throw new ElmoWeightsException($"Scalar mix file '{path}': field 'mixes' holds {loaded.Count} mixes; this module has {Mixes.Count}.") { FilePath = path, Dataset = "mixes" };
        }
        for (int k = 0; k < loaded.Count; k++)
        {
            var (mine, theirs) = (Mixes[k], loaded[k]);
            string? problem =
                theirs.LayerCount != mine.LayerCount ? $"weights has {theirs.LayerCount} layers; this module's mixes have {mine.LayerCount}" :
                theirs.LayerNorm != mine.LayerNorm ? $"layer_norm is {theirs.LayerNorm}; this module's is {mine.LayerNorm}" :
                theirs.L2Coefficient != mine.L2Coefficient ? $"l2_coefficient is {theirs.L2Coefficient}; this module's is {mine.L2Coefficient}" :
                null;
            if (problem is not null)
            {
                throw new ElmoWeightsException($"Scalar mix file '{path}': mixes[{k}].{problem}.") { FilePath = path, Dataset = $"mixes[{k}]" };
            }
        }
        for (int k = 0; k < loaded.Count; k++)
        {
            loaded[k].Weights.CopyTo(Mixes[k].Weights, 0);
            Mixes[k].Gamma = loaded[k].Gamma;
            Mixes[k].Trainable = loaded[k].Trainable;
        }
    }

    /// <summary>The layers the mixes read: all of them, or only the top one.</summary>
    private ReadOnlySpan<float> MixedLayers(BiLmOutput biLm)
    {
        if (!Options.TopLayerOnly) return biLm.Layers;
        int size = biLm.BatchSize * biLm.Timesteps * biLm.Dim;
        return biLm.Layers.AsSpan((biLm.LayerCount - 1) * size, size);
    }

    private static float[] RemoveBoundaries(float[] full, BiLmOutput biLm, int outT)
    {
        int t = biLm.Timesteps, d = biLm.Dim;
        var result = new float[biLm.BatchSize * outT * d];
        for (int b = 0; b < biLm.BatchSize; b++)
        {
            int n = biLm.Lengths[b] - 2;
            full.AsSpan((b * t + 1) * d, n * d).CopyTo(result.AsSpan(b * outT * d));
        }
        return result;
    }

    private static ElmoSession CreateSession(ElmoModel model, StateMode mode)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.CreateSession(mode);
    }
}
