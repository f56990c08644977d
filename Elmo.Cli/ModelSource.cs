using System.CommandLine;
using System.Globalization;
using Elmo.Cli.Progress;
using Elmo.Core;

namespace Elmo.Cli;

/// <summary>Where a model's files are, once resolved (downloaded when they were URLs).</summary>
/// <param name="Description">How the model was named (for messages).</param>
/// <param name="OptionsPath">The options JSON on disk; null for the demo model.</param>
/// <param name="WeightsPath">The weights HDF5 on disk; null for the demo model, or when none was given.</param>
/// <param name="IsDemo">The built-in random-weight demo model.</param>
internal sealed record ResolvedModel(string Description, string? OptionsPath, string? WeightsPath, bool IsDemo)
{
    /// <summary>The model's files, as inputs an output must not replace.</summary>
    public IEnumerable<InputFile?> Inputs =>
    [
        OptionsPath is null ? null : new InputFile(OptionsPath, "--options"),
        WeightsPath is null ? null : new InputFile(WeightsPath, "--weights"),
    ];
}

/// <summary>
/// The model flags shared by the commands: <c>--model NAME</c> (demo or a published AllenNLP model) or
/// <c>--options FILE|URL --weights FILE|URL</c> (AllenNLP's <c>--options-file</c> / <c>--weight-file</c> also work),
/// with <c>--cache-dir</c> for downloads.
/// </summary>
internal sealed class ModelSource
{
    /// <summary>The seed of the demo model's random weights.</summary>
    public const ulong DemoSeed = ElmoModel.DemoSeed;

    public Option<string?> Model { get; } = new("--model")
    {
        Description = "A model by name: 'demo' (built in, RANDOM weights, no download), or a published AllenNLP model, downloaded once into the cache: "
            + string.Join(", ", PublishedModels.All.Select(m => m.Name)) + ".",
        HelpName = "NAME",
    };

    public Option<string?> Options { get; } = new("--options", "--options-file")
    {
        Description = "Options JSON (AllenNLP / bilm-tf): a file or an http(s) URL (append #sha256=HEX to verify a download).",
        HelpName = "FILE|URL",
    };

    public Option<string?> Weights { get; } = new("--weights", "--weight-file")
    {
        Description = "Weights HDF5 (bilm-tf layout): a file or an http(s) URL (append #sha256=HEX to verify a download).",
        HelpName = "FILE|URL",
    };

    public Option<string?> CacheDir { get; } = new("--cache-dir")
    {
        Description = $"Download cache (default: ${ModelCache.EnvironmentVariable}, else ~/.cache/elmo).",
        HelpName = "DIR",
    };

    public Option<string> Precision { get; } = CreatePrecision();

    private static Option<string> CreatePrecision()
    {
        var option = new Option<string>("--precision")
        {
            Description = "How the weights are kept in memory: fp32 (exact, the default), bf16 (half the memory) or int8 (a quarter); arithmetic is fp32 in every case, bf16 and int8 results differ slightly (docs/performance.md).",
            DefaultValueFactory = _ => "fp32",
            HelpName = "fp32|bf16|int8",
        };
        option.AcceptOnlyFromAmong("fp32", "bf16", "int8");
        return option;
    }

    public Elmo.Kernels.Gemm.WeightPrecision GetPrecision(ParseResult parsed) => parsed.GetValue(Precision) switch
    {
        "bf16" => Elmo.Kernels.Gemm.WeightPrecision.Bf16,
        "int8" => Elmo.Kernels.Gemm.WeightPrecision.Int8,
        _ => Elmo.Kernels.Gemm.WeightPrecision.Fp32,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Precision);
        command.Options.Add(Model);
        command.Options.Add(Options);
        command.Options.Add(Weights);
        command.Options.Add(CacheDir);
    }

    /// <summary>The model files named by local path (not by URL), as inputs an output must not replace; checked before any download.</summary>
    /// <param name="parsed">The parse result.</param>
    /// <returns>The files (null entries for flags not given).</returns>
    public IEnumerable<InputFile?> LocalInputs(ParseResult parsed)
    {
        string? options = parsed.GetValue(Options), weights = parsed.GetValue(Weights);
        return
        [
            options is null || ModelCache.IsUrl(options) ? null : new InputFile(options, "--options"),
            weights is null || ModelCache.IsUrl(weights) ? null : new InputFile(weights, "--weights"),
        ];
    }

    /// <summary>Finds (downloading when needed) the files the flags name.</summary>
    /// <param name="parsed">The parse result.</param>
    /// <param name="console">For download progress and notes.</param>
    /// <param name="quiet">No download progress.</param>
    /// <param name="requireWeights">False lets <c>--options</c> stand alone (for <c>elmo info</c>).</param>
    /// <returns>The files.</returns>
    public ResolvedModel Resolve(ParseResult parsed, CliConsole console, bool quiet, bool requireWeights = true)
    {
        string? name = parsed.GetValue(Model), options = parsed.GetValue(Options), weights = parsed.GetValue(Weights);
        var progress = new ProgressReporter(console, quiet);
        if (name is not null)
        {
            if (options is not null || weights is not null) throw new UsageException("--model cannot be combined with --options/--weights.");
            if (name.Equals("demo", StringComparison.OrdinalIgnoreCase))
            {
                return new ResolvedModel($"demo (built-in, random weights, seed {DemoSeed})", null, null, IsDemo: true);
            }
            if (!PublishedModels.TryGet(name, out var published))
            {
                throw new UsageException($"Unknown model '{name}'. Known: demo, {string.Join(", ", PublishedModels.All.Select(m => m.Name))}; or give --options and --weights.");
            }
            var cache = Cache(parsed);
            // Each download is checked before it is cached: options that parse, weights that load with them.
            string o = Fetch(cache, published.OptionsUrl, null, progress, console, ModelCache.CheckOptions);
            string w = Fetch(cache, published.WeightsUrl, null, progress, console, ModelCache.CheckWeights(ElmoOptions.Load(o)));
            return new ResolvedModel($"{published.Name} ({published.Description})", o, w, IsDemo: false);
        }
        if (options is null || (requireWeights && weights is null))
        {
            throw new UsageException(requireWeights
                ? "A model is needed: --options FILE --weights FILE, or --model NAME (demo, " + string.Join(", ", PublishedModels.All.Select(m => m.Name)) + ")."
                : "A model is needed: --options FILE [--weights FILE], or --model NAME.");
        }
        string optionsPath = Local(parsed, options, "--options", progress, console, ModelCache.CheckOptions);
        string? weightsPath = weights is null ? null
            : Local(parsed, weights, "--weights", progress, console, ModelCache.IsUrl(weights) ? ModelCache.CheckWeights(ElmoOptions.Load(optionsPath)) : null);
        return new ResolvedModel(weightsPath is null ? optionsPath : $"{optionsPath} + {weightsPath}", optionsPath, weightsPath, IsDemo: false);
    }

    /// <summary>Loads the model the flags name, showing download progress; writes a note to stderr for the demo model.</summary>
    public ElmoModel Load(ParseResult parsed, CliConsole console) => Load(parsed, console, quiet: false);

    /// <summary>Loads the model the flags name; writes a note to stderr for the demo model.</summary>
    public ElmoModel Load(ParseResult parsed, CliConsole console, bool quiet) => Load(parsed, console, quiet, out ResolvedModel _);

    /// <summary>Loads the model the flags name, telling where its weight file is (null for the demo model).</summary>
    public ElmoModel Load(ParseResult parsed, CliConsole console, bool quiet, out string? weightsPath)
    {
        var model = Load(parsed, console, quiet, out ResolvedModel resolved);
        weightsPath = resolved.WeightsPath;
        return model;
    }

    /// <summary>Loads the model the flags name, telling where its files are.</summary>
    public ElmoModel Load(ParseResult parsed, CliConsole console, bool quiet, out ResolvedModel resolved)
    {
        resolved = Resolve(parsed, console, quiet);
        if (resolved.IsDemo)
        {
            console.Error.WriteLine($"elmo: using the built-in demo model: RANDOM weights (seed {DemoSeed}), for trying the tool only; its vectors mean nothing.");
            return ElmoModel.Demo().WithPrecision(GetPrecision(parsed));
        }
        // The model keeps its warm state in the same cache as the downloads (--cache-dir, else $ELMO_CACHE, else ~/.cache/elmo).
        return ElmoModel.Load(resolved.OptionsPath!, resolved.WeightsPath!, Cache(parsed).Directory, GetPrecision(parsed));
    }

    private ModelCache Cache(ParseResult parsed) => new(parsed.GetValue(CacheDir));

    private string Local(ParseResult parsed, string value, string flag, ProgressReporter progress, CliConsole console, Action<string>? validate)
    {
        if (!ModelCache.IsUrl(value))
        {
            // HDF5 is read by seeking: a pipe cannot be a weight file (and opening one no one writes would block).
            // (The options file is read once from the start, so <(cmd) works there; its loader names a missing file.)
            if (flag == "--weights") OutputPath.CheckInput(value, flag, seekable: true);
            return value;
        }
        (Uri url, string? sha) parsedUrl;
        try
        {
            parsedUrl = ModelCache.ParseUrl(value);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"{flag}: {e.Message}");
        }
        return Fetch(Cache(parsed), parsedUrl.url, parsedUrl.sha, progress, console, validate);
    }

    private static string Fetch(ModelCache cache, Uri url, string? sha256, ProgressReporter progress, CliConsole console, Action<string>? validate)
    {
        // A cached file (without a pinned hash to check) is returned at once; its hash is recorded the first time it is
        // seen, and checked again when the file's modification time changed.
        if (cache.TryGetCached(url) is not null && sha256 is null) return cache.Fetch(url, null, null, validate, console.Cancellation);
        string file = url.Segments.Length > 0 ? Uri.UnescapeDataString(url.Segments[^1]) : url.ToString();
        progress.Note($"downloading {url} into {cache.Directory}");
        string path = cache.Fetch(url, sha256, p => progress.Update(
            p.TotalBytes is long t && t > 0 ? (double)p.Bytes / t : null,
            () => Describe(file, p),
            force: p.TotalBytes == p.Bytes), validate, console.Cancellation);
        progress.Finish();
        return path;
    }

    private static string Describe(string file, DownloadProgress p)
    {
        double seconds = p.Elapsed.TotalSeconds;
        double rate = seconds > 0 ? (p.Bytes - p.ResumedFrom) / seconds : 0;
        string total = p.TotalBytes is long t ? "/" + ProgressReporter.Bytes(t) : "";
        string eta = p.TotalBytes is long size && rate > 0 ? ", ETA " + ProgressReporter.Duration((size - p.Bytes) / rate) : "";
        string resumed = p.ResumedFrom > 0 ? string.Create(CultureInfo.InvariantCulture, $" (resumed at {ProgressReporter.Bytes(p.ResumedFrom)})") : "";
        return $"{file}: {ProgressReporter.Bytes(p.Bytes)}{total}{resumed}, {ProgressReporter.Bytes(rate)}/s{eta}";
    }
}
