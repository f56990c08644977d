using Elmo.Kernels.Gemm;

namespace Elmo.Core;

/// <summary>
/// A loaded ELMo biLM: options, weights converted for the kernels, and the character mapper.
/// Immutable and safe to share between any number of threads; each caller runs it through its own
/// <see cref="ElmoSession"/> (or shares an <see cref="ElmoEmbedder"/>).
/// </summary>
/// <remarks>
/// Three ways in: <see cref="Demo"/> (built in, random weights, no download), <see cref="FromPublished(string, ModelCache?, Action{DownloadProgress}?, CancellationToken)"/>
/// (an AllenNLP model, downloaded once into the cache) and <see cref="Load(string, string, string?)"/> (your own files). Sessions start every
/// sentence from the warm state by default (<see cref="DefaultStateMode"/>), as <c>elmo embed</c> does; for a model
/// loaded from a file that state is read from the on-disk cache (<see cref="WarmStateCache"/>), so it is computed once
/// per model and machine.
/// </remarks>
/// <example>
/// <code>
/// var model = ElmoModel.FromPublished("small");       // or ElmoModel.Demo(), or ElmoModel.Load(options, weights)
/// var session = model.CreateSession();                 // warm by default; StateMode.Stateless / Stateful on request
/// var output = session.Run([["The", "cat", "sat", "."], ["Hi"]]).WithoutBoundaries();
/// ReadOnlySpan&lt;float&gt; top = output.Vector(layer: 2, row: 0, position: 1); // "cat", top layer
/// </code>
/// </example>
public sealed class ElmoModel
{
    /// <summary>
    /// The state mode every entry point uses unless told otherwise: <see cref="CreateSession"/>, <see cref="ElmoModule"/>,
    /// <see cref="ElmoEmbedder"/>, <see cref="EmbedSettings"/> and <c>elmo embed</c> (see docs/state-modes.md).
    /// </summary>
    public const StateMode DefaultStateMode = StateMode.Warm;

    /// <summary>The seed of <see cref="Demo"/>'s random weights (the same as <c>elmo --model demo</c>).</summary>
    public const ulong DemoSeed = 1;

    private static readonly Lazy<ElmoModel> DemoModel = new(() => new ElmoModel(RandomWeights.Create(ModelPresets.Demo, DemoSeed)), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly Lazy<LstmState> _builtInWarmState;
    private readonly Lazy<LstmState> _warmState;

    /// <summary>Wraps already loaded weights (no weight file: the warm state is computed in this process when first needed).</summary>
    /// <param name="weights">The weights (they carry their options).</param>
    public ElmoModel(ElmoWeights weights)
        : this(weights, weightsPath: null, cacheDirectory: null)
    {
    }

    private ElmoModel(ElmoWeights weights, string? weightsPath, string? cacheDirectory)
    {
        ArgumentNullException.ThrowIfNull(weights);
        Weights = weights;
        WeightsPath = weightsPath;
        CacheDirectory = cacheDirectory;
        Mapper = new CharacterMapper(weights.Options.CharCnn.MaxCharactersPerToken);
        _builtInWarmState = new Lazy<LstmState>(() => WarmStart.ComputeBuiltIn(this), LazyThreadSafetyMode.ExecutionAndPublication);
        _warmState = new Lazy<LstmState>(
            () => weightsPath is null || cacheDirectory is null ? BuiltInWarmState : WarmStateCache.GetOrCompute(this, weightsPath, cacheDirectory, out _),
            LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>
    /// The warm state after <see cref="WarmStart.BuiltInText"/>, computed in this process once on first use (thread-safe)
    /// and shared. Sessions use <see cref="WarmState"/>, which holds the same values but is read from the on-disk cache when it can be.
    /// </summary>
    public LstmState BuiltInWarmState => _builtInWarmState.Value;

    /// <summary>
    /// The state <see cref="StateMode.Warm"/> sessions start from when none is given: the built-in warm state. For a
    /// model loaded from a weight file it comes from the warm-state cache in <see cref="CacheDirectory"/> (the files
    /// <c>elmo embed</c> uses): computed and saved there the first time, read back (in milliseconds) by every later
    /// process. Otherwise (<see cref="Demo"/>, weights built in memory) it is <see cref="BuiltInWarmState"/>. Resolved
    /// once per model, on first use; a cache that cannot be read or written is passed over (the state is then
    /// computed, never wrong).
    /// </summary>
    public LstmState WarmState => _warmState.Value;

    /// <summary>The architecture.</summary>
    public ElmoOptions Options => Weights.Options;

    /// <summary>The converted weights.</summary>
    public ElmoWeights Weights { get; }

    /// <summary>Maps tokens to character ids for this model.</summary>
    public CharacterMapper Mapper { get; }

    /// <summary>The weight file this model was loaded from (absolute), or null when its weights were built in memory.</summary>
    public string? WeightsPath { get; }

    /// <summary>
    /// The cache directory whose <c>warm/</c> folder keeps this model's warm state (<see cref="WarmStateCache"/>), or
    /// null when the model has no weight file.
    /// </summary>
    public string? CacheDirectory { get; }

    /// <summary>
    /// The built-in demo model: the <see cref="ModelPresets.Demo"/> architecture with random weights (seed
    /// <see cref="DemoSeed"/>), made in memory in a fraction of a second, no file and no download. Its vectors mean
    /// nothing; it is for trying the API (and equals <c>elmo --model demo</c>). One shared instance per process.
    /// </summary>
    /// <returns>The demo model.</returns>
    public static ElmoModel Demo() => DemoModel.Value;

    /// <summary>Loads an options JSON and a bilm-tf weight file.</summary>
    /// <param name="optionsPath">AllenNLP / bilm-tf options JSON.</param>
    /// <param name="weightsPath">bilm-tf HDF5 weights.</param>
    /// <param name="cacheDirectory">Where the warm state is cached (<see cref="CacheDirectory"/>); null for
    /// <see cref="ModelCache.DefaultDirectory"/> (<c>$ELMO_CACHE</c>, else <c>~/.cache/elmo</c>), the CLI's default.</param>
    /// <returns>The model.</returns>
    /// <exception cref="ElmoOptionsException">The options file is bad.</exception>
    /// <exception cref="ElmoWeightsException">The weight file is bad or does not match the options.</exception>
    public static ElmoModel Load(string optionsPath, string weightsPath, string? cacheDirectory = null) =>
        Load(optionsPath, weightsPath, cacheDirectory, WeightPrecision.Fp32);

    /// <summary>
    /// Loads an options JSON and a bilm-tf weight file, keeping the GEMM weights in <paramref name="precision"/>: float32
    /// (the default, exact), bfloat16 or int8 (about a half or a quarter of the memory, faster at batch 1; results
    /// differ slightly, see <see cref="ElmoWeights.ToPrecision"/> and docs/performance.md). The warm state is cached
    /// per precision.
    /// </summary>
    /// <param name="optionsPath">AllenNLP / bilm-tf options JSON.</param>
    /// <param name="weightsPath">bilm-tf HDF5 weights.</param>
    /// <param name="cacheDirectory">Where the warm state is cached; null for <see cref="ModelCache.DefaultDirectory"/>.</param>
    /// <param name="precision">How the GEMM weights are kept in memory.</param>
    /// <returns>The model.</returns>
    /// <exception cref="ElmoOptionsException">The options file is bad.</exception>
    /// <exception cref="ElmoWeightsException">The weight file is bad or does not match the options.</exception>
    public static ElmoModel Load(string optionsPath, string weightsPath, string? cacheDirectory, WeightPrecision precision)
    {
        ArgumentNullException.ThrowIfNull(optionsPath);
        ArgumentNullException.ThrowIfNull(weightsPath);
        if (!Enum.IsDefined(precision)) throw new ArgumentOutOfRangeException(nameof(precision), precision, "Unknown precision.");
        var options = ElmoOptions.Load(optionsPath);
        var weights = ElmoWeights.Load(weightsPath, options, precision);
        return new ElmoModel(weights, Path.GetFullPath(weightsPath), Path.GetFullPath(string.IsNullOrEmpty(cacheDirectory) ? ModelCache.DefaultDirectory : cacheDirectory));
    }

    /// <summary>
    /// This model with its GEMM weights kept in <paramref name="precision"/> (<see cref="ElmoWeights.ToPrecision"/>); the
    /// same weight file and cache (the warm state is cached per precision). This model itself for its own precision.
    /// </summary>
    /// <param name="precision">How the GEMM weights are kept in memory.</param>
    /// <returns>The model.</returns>
    /// <exception cref="InvalidOperationException">This model is already reduced (only float32 converts).</exception>
    public ElmoModel WithPrecision(WeightPrecision precision) =>
        precision == Weights.Precision ? this : new ElmoModel(Weights.ToPrecision(precision), WeightsPath, CacheDirectory);

    /// <summary>
    /// Loads a model AllenNLP published, by name: downloads its options and weights into <paramref name="cache"/> the
    /// first time (resumable, size-checked, SHA-256 recorded; see <see cref="ModelCache"/>), then loads them from there
    /// with no request, as <c>elmo --model NAME</c> does. The warm state is cached in the same directory.
    /// </summary>
    /// <param name="name"><c>original</c>, <c>original-5.5B</c>, <c>medium</c> or <c>small</c> (case-insensitive; see <see cref="PublishedModels"/>).</param>
    /// <param name="cache">The download cache and its settings; null for <c>new ModelCache()</c> (<c>$ELMO_CACHE</c>, else <c>~/.cache/elmo</c>).</param>
    /// <param name="progress">Called as bytes arrive (only while downloading).</param>
    /// <param name="cancellationToken">Stops a download; its partial file is kept and the next call resumes it.</param>
    /// <returns>The model.</returns>
    /// <exception cref="ArgumentException">No published model has this name.</exception>
    /// <exception cref="ElmoDownloadException">A file cannot be downloaded into the cache.</exception>
    /// <exception cref="ElmoOptionsException">The options file is bad.</exception>
    /// <exception cref="ElmoWeightsException">The weight file is bad or does not match the options.</exception>
    public static ElmoModel FromPublished(string name, ModelCache? cache = null, Action<DownloadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        FromPublished(Published(name), cache, progress, cancellationToken);

    /// <summary><see cref="FromPublished(string, ModelCache?, Action{DownloadProgress}?, CancellationToken)"/> for a <see cref="PublishedModel"/> (one of <see cref="PublishedModels.All"/>, or your own URLs).</summary>
    /// <param name="published">The model's files.</param>
    /// <param name="cache">The download cache; null for <c>new ModelCache()</c>.</param>
    /// <param name="progress">Called as bytes arrive.</param>
    /// <param name="cancellationToken">Stops a download (resumable).</param>
    /// <returns>The model.</returns>
    /// <exception cref="ElmoDownloadException">A file cannot be downloaded into the cache.</exception>
    /// <exception cref="ElmoOptionsException">The options file is bad.</exception>
    /// <exception cref="ElmoWeightsException">The weight file is bad or does not match the options.</exception>
    public static ElmoModel FromPublished(PublishedModel published, ModelCache? cache = null, Action<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(published);
        cache ??= new ModelCache();
        var files = cache.FetchModel(published.OptionsUrl, published.WeightsUrl, progress: progress, cancellationToken: cancellationToken);
        return Load(files.OptionsPath, files.WeightsPath, cache.Directory);
    }

    /// <summary>Asynchronous <see cref="FromPublished(string, ModelCache?, Action{DownloadProgress}?, CancellationToken)"/>: downloads without blocking, then loads on the thread pool.</summary>
    /// <param name="name"><c>original</c>, <c>original-5.5B</c>, <c>medium</c> or <c>small</c> (case-insensitive).</param>
    /// <param name="cache">The download cache; null for <c>new ModelCache()</c>.</param>
    /// <param name="progress">Called as bytes arrive.</param>
    /// <param name="cancellationToken">Stops a download (resumable).</param>
    /// <returns>The model.</returns>
    /// <exception cref="ArgumentException">No published model has this name.</exception>
    /// <exception cref="ElmoDownloadException">A file cannot be downloaded into the cache.</exception>
    /// <exception cref="ElmoOptionsException">The options file is bad.</exception>
    /// <exception cref="ElmoWeightsException">The weight file is bad or does not match the options.</exception>
    public static Task<ElmoModel> FromPublishedAsync(string name, ModelCache? cache = null, Action<DownloadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        FromPublishedAsync(Published(name), cache, progress, cancellationToken);

    /// <summary>Asynchronous <see cref="FromPublished(PublishedModel, ModelCache?, Action{DownloadProgress}?, CancellationToken)"/>.</summary>
    /// <param name="published">The model's files.</param>
    /// <param name="cache">The download cache; null for <c>new ModelCache()</c>.</param>
    /// <param name="progress">Called as bytes arrive.</param>
    /// <param name="cancellationToken">Stops a download (resumable).</param>
    /// <returns>The model.</returns>
    /// <exception cref="ElmoDownloadException">A file cannot be downloaded into the cache.</exception>
    /// <exception cref="ElmoOptionsException">The options file is bad.</exception>
    /// <exception cref="ElmoWeightsException">The weight file is bad or does not match the options.</exception>
    public static async Task<ElmoModel> FromPublishedAsync(PublishedModel published, ModelCache? cache = null, Action<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(published);
        cache ??= new ModelCache();
        var files = await cache.FetchModelAsync(published.OptionsUrl, published.WeightsUrl, progress: progress, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await Task.Run(() => Load(files.OptionsPath, files.WeightsPath, cache.Directory), cancellationToken).ConfigureAwait(false);
    }

    private static PublishedModel Published(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (PublishedModels.TryGet(name, out var published)) return published;
        throw new ArgumentException(
            $"Unknown published model '{name}'; known: {string.Join(", ", PublishedModels.All.Select(m => m.Name))} (ElmoModel.Demo() is the built-in demo model, ElmoModel.Load your own files).",
            nameof(name));
    }

    /// <summary>Creates a run state for one caller.</summary>
    /// <param name="mode">How states start and carry over between batches; default <see cref="DefaultStateMode"/> (warm).</param>
    /// <param name="warmState">The one-row state every sentence starts from in <see cref="StateMode.Warm"/> mode
    /// (from <see cref="WarmStart.Compute"/> or <see cref="WarmStart.Load"/>); null there means <see cref="WarmState"/>.</param>
    /// <param name="threads">Maximum threads one call may use (default: all processors).</param>
    /// <returns>A new session.</returns>
    public ElmoSession CreateSession(StateMode mode = DefaultStateMode, LstmState? warmState = null, int? threads = null)
    {
        int t = threads ?? Environment.ProcessorCount;
        ArgumentOutOfRangeException.ThrowIfLessThan(t, 1, nameof(threads));
        if (mode == StateMode.Warm) warmState ??= WarmState;
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
