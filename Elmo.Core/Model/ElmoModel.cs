namespace Elmo.Core;

/// <summary>
/// A loaded ELMo biLM: options, weights converted for the kernels, and the character mapper.
/// Immutable and safe to share between any number of threads; each caller runs it through its own
/// <see cref="ElmoSession"/>.
/// </summary>
/// <example>
/// <code>
/// var model = ElmoModel.Load("options.json", "weights.hdf5");
/// var session = model.CreateSession();
/// var output = session.Run([["The", "cat", "sat", "."], ["Hi"]]).WithoutBoundaries();
/// ReadOnlySpan&lt;float&gt; top = output.Vector(layer: 2, row: 0, position: 1); // "cat", top layer
/// </code>
/// </example>
public sealed class ElmoModel
{
    /// <summary>Wraps already loaded weights.</summary>
    /// <param name="weights">The weights (they carry their options).</param>
    public ElmoModel(ElmoWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        Weights = weights;
        Mapper = new CharacterMapper(weights.Options.CharCnn.MaxCharactersPerToken);
        _builtInWarmState = new Lazy<LstmState>(() => WarmStart.ComputeBuiltIn(this), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    private readonly Lazy<LstmState> _builtInWarmState;

    /// <summary>
    /// The warm state after <see cref="WarmStart.BuiltInText"/>, computed once on first use (thread-safe) and
    /// shared; <see cref="CreateSession"/> uses it for <see cref="StateMode.Warm"/> when no state is given.
    /// </summary>
    public LstmState BuiltInWarmState => _builtInWarmState.Value;

    /// <summary>The architecture.</summary>
    public ElmoOptions Options => Weights.Options;

    /// <summary>The converted weights.</summary>
    public ElmoWeights Weights { get; }

    /// <summary>Maps tokens to character ids for this model.</summary>
    public CharacterMapper Mapper { get; }

    /// <summary>Loads an options JSON and a bilm-tf weight file.</summary>
    /// <param name="optionsPath">AllenNLP / bilm-tf options JSON.</param>
    /// <param name="weightsPath">bilm-tf HDF5 weights.</param>
    /// <returns>The model.</returns>
    /// <exception cref="ElmoOptionsException">The options file is bad.</exception>
    /// <exception cref="ElmoWeightsException">The weight file is bad or does not match the options.</exception>
    public static ElmoModel Load(string optionsPath, string weightsPath)
    {
        var options = ElmoOptions.Load(optionsPath);
        return new ElmoModel(ElmoWeights.Load(weightsPath, options));
    }

    /// <summary>Creates a run state for one caller.</summary>
    /// <param name="mode">How states carry over between batches.</param>
    /// <param name="warmState">The one-row state every sentence starts from in <see cref="StateMode.Warm"/> mode
    /// (from <see cref="WarmStart.Compute"/> or <see cref="WarmStart.Load"/>); null there means <see cref="BuiltInWarmState"/>.</param>
    /// <param name="threads">Maximum threads one call may use (default: all processors).</param>
    /// <returns>A new session.</returns>
    public ElmoSession CreateSession(StateMode mode = StateMode.Stateless, LstmState? warmState = null, int? threads = null)
    {
        int t = threads ?? Environment.ProcessorCount;
        ArgumentOutOfRangeException.ThrowIfLessThan(t, 1, nameof(threads));
        if (mode == StateMode.Warm) warmState ??= BuiltInWarmState;
        return new ElmoSession(this, mode, warmState, t);
    }

    /// <summary>
    /// The context-independent token representations (layer 0 before duplication; bilm-tf's
    /// <c>dump_token_embeddings</c>) of <paramref name="tokens"/>: <c>(tokens, projection_dim)</c> row-major.
    /// Thread-safe.
    /// </summary>
    /// <param name="tokens">Tokens to encode.</param>
    /// <param name="threads">Maximum threads.</param>
    /// <returns>A new array.</returns>
    public float[] EmbedTokens(IReadOnlyList<string> tokens, int? threads = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        int chars = Mapper.MaxCharactersPerToken, p = Options.Lstm.ProjectionDim;
        var ids = new int[tokens.Count * chars];
        for (int i = 0; i < tokens.Count; i++) Mapper.Map(tokens[i], ids.AsSpan(i * chars, chars));
        var result = new float[tokens.Count * p];
        CharCnnEncoder.Encode(Weights, ids, tokens.Count, result, new Workspace(), threads ?? Environment.ProcessorCount);
        return result;
    }
}
