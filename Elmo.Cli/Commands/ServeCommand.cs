using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Elmo.Core;
using Elmo.Server;

namespace Elmo.Cli.Commands;

/// <summary><c>elmo serve</c>: an HTTP embedding service with dynamic batching over the model the flags name.</summary>
internal static class ServeCommand
{
    private const string Examples = """
        Examples:
          elmo serve --model demo
          elmo serve --model original --urls http://127.0.0.1:9000 --max-wait-ms 5
          elmo serve --options options.json --weights weights.hdf5 --stateless --api-key-file key.txt
          curl -s localhost:8080/v1/embed -d '{"sentences":[["Hello","world"]],"output":"top"}'

        Endpoints: POST /v1/embed (JSON, or .npy arrays with 'Accept: application/x-npy'), GET /v1/model,
        /healthz, /readyz, /metrics (Prometheus), /openapi.json; see docs/server.md. Concurrent requests are
        batched together, and every answer is bit for bit what 'elmo embed' gives for the same sentences.
        Ctrl-C or SIGTERM: stop accepting, finish the requests in flight (--drain-timeout), exit 0.
        """;

    public static Command Create(CliConsole console)
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen: http://HOST:PORT, several separated by ';' (port 0 picks a free one). Anything beyond loopback is reachable from the network: your choice.", DefaultValueFactory = _ => ServerOptions.DefaultUrl, HelpName = "URLS" };
        var stateless = new Option<bool>("--stateless") { Description = "Every sentence starts from zero LSTM state." };
        var stateful = new Option<bool>("--stateful") { Description = "Refused: a server's answers would depend on other clients' requests." };
        var warm = new Option<bool>("--warm") { Description = "Every sentence starts from the state after the built-in warm-up text (the default)." };
        var warmUp = new Option<string?>("--warm-up") { Description = "Warm mode, with the state after this text (one sentence per line, .txt or .jsonl).", HelpName = "FILE" };
        var warmState = new Option<string?>("--warm-state") { Description = "Warm mode, with a state saved by 'elmo warm-state'.", HelpName = "FILE" };
        var threads = new Option<int?>("--threads") { Description = "Threads one batch uses (default: all cores).", HelpName = "N" };
        var sessions = new Option<int>("--sessions") { Description = "Batches run at once, each on its own session of the one model.", DefaultValueFactory = _ => 1, HelpName = "N" };
        var batchTokens = new Option<int>("--max-batch-tokens") { Description = "Tokens per batch at most (a longer sentence runs alone).", DefaultValueFactory = _ => BatcherOptions.DefaultMaxBatchTokens, HelpName = "N" };
        var batchSentences = new Option<int>("--max-batch-sentences") { Description = "Sentences per batch at most.", DefaultValueFactory = _ => BatcherOptions.DefaultMaxBatchSentences, HelpName = "N" };
        var maxWait = new Option<double>("--max-wait-ms") { Description = "How long a batch waits for more requests before it runs.", DefaultValueFactory = _ => BatcherOptions.DefaultMaxWait.TotalMilliseconds, HelpName = "MS" };
        var queueRequests = new Option<int>("--max-queue-requests") { Description = "Requests waiting at most; beyond, 503 with Retry-After.", DefaultValueFactory = _ => BatcherOptions.DefaultMaxQueuedRequests, HelpName = "N" };
        var queueTokens = new Option<int>("--max-queue-tokens") { Description = "Tokens waiting at most; beyond, 503 with Retry-After.", DefaultValueFactory = _ => BatcherOptions.DefaultMaxQueuedTokens, HelpName = "N" };
        var limits = new RequestLimits();
        var bodyBytes = new Option<int>("--max-body-bytes") { Description = "Bytes per request body.", DefaultValueFactory = _ => limits.MaxBodyBytes, HelpName = "N" };
        var maxSentences = new Option<int>("--max-sentences") { Description = "Sentences per request.", DefaultValueFactory = _ => limits.MaxSentences, HelpName = "N" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens per sentence.", DefaultValueFactory = _ => limits.MaxTokensPerSentence, HelpName = "N" };
        var maxRequestTokens = new Option<int>("--max-request-tokens") { Description = "Tokens per request, all sentences together.", DefaultValueFactory = _ => limits.MaxRequestTokens, HelpName = "N" };
        var maxTokenChars = new Option<int>("--max-token-chars") { Description = "Characters per token.", DefaultValueFactory = _ => limits.MaxTokenCharacters, HelpName = "N" };
        var requestTimeout = new Option<double>("--request-timeout") { Description = "Seconds a client has to send its headers, and then its body (slower: 408).", DefaultValueFactory = _ => 30, HelpName = "S" };
        var drainTimeout = new Option<double>("--drain-timeout") { Description = "Seconds requests in flight have to finish after Ctrl-C or SIGTERM.", DefaultValueFactory = _ => 30, HelpName = "S" };
        var apiKeyFile = new Option<string?>("--api-key-file") { Description = "A file holding the key every request must carry (Authorization: Bearer KEY, or X-API-Key: KEY); /healthz and /readyz stay open.", HelpName = "FILE" };
        var jsonLogs = new Option<bool>("--log-json") { Description = "Log lines as JSON objects." };
        var model = new ModelSource();

        var command = new ElmoCommand("serve", "Serve embeddings over HTTP, batching concurrent requests; every answer is bit for bit that of 'elmo embed'.", Examples)
        {
            urls, stateless, stateful, warm, warmUp, warmState, threads, sessions, batchTokens, batchSentences, maxWait, queueRequests, queueTokens,
            bodyBytes, maxSentences, maxTokens, maxRequestTokens, maxTokenChars, requestTimeout, drainTimeout, apiKeyFile, jsonLogs,
        };
        model.AddTo(command);

        command.SetAction(parsed =>
        {
            if (parsed.GetValue(stateful))
            {
                throw new UsageException("--stateful is not offered by 'elmo serve': states carried from batch to batch would make each client's vectors depend on what other clients sent before it and on how requests were batched. Serve the warm state (the default) or --stateless; both give every request exactly what 'elmo embed' gives.");
            }
            var modes = new[] { (parsed.GetValue(stateless), "--stateless"), (parsed.GetValue(warm), "--warm"), (parsed.GetValue(warmUp) is not null, "--warm-up"), (parsed.GetValue(warmState) is not null, "--warm-state") }
                .Where(m => m.Item1).Select(m => m.Item2).ToList();
            if (modes.Count > 1) throw new UsageException($"{string.Join(" and ", modes)} exclude each other: choose one of --stateless, --warm, --warm-up FILE, --warm-state FILE.");
            int? threadCount = parsed.GetValue(threads);
            if (threadCount is < 1) throw new UsageException($"--threads must be at least 1, got {threadCount}.");
            var options = new ServerOptions
            {
                Urls = ParseUrls(parsed.GetValue(urls)!),
                Limits = new RequestLimits
                {
                    MaxBodyBytes = AtLeastOne(parsed.GetValue(bodyBytes), "--max-body-bytes"),
                    MaxSentences = AtLeastOne(parsed.GetValue(maxSentences), "--max-sentences"),
                    MaxTokensPerSentence = AtLeastOne(parsed.GetValue(maxTokens), "--max-tokens"),
                    MaxRequestTokens = AtLeastOne(parsed.GetValue(maxRequestTokens), "--max-request-tokens"),
                    MaxTokenCharacters = AtLeastOne(parsed.GetValue(maxTokenChars), "--max-token-chars"),
                },
                Batching = new BatcherOptions
                {
                    MaxBatchTokens = AtLeastOne(parsed.GetValue(batchTokens), "--max-batch-tokens"),
                    MaxBatchSentences = AtLeastOne(parsed.GetValue(batchSentences), "--max-batch-sentences"),
                    MaxWait = Milliseconds(parsed.GetValue(maxWait), "--max-wait-ms", 0, 10_000),
                    MaxQueuedRequests = AtLeastOne(parsed.GetValue(queueRequests), "--max-queue-requests"),
                    MaxQueuedTokens = AtLeastOne(parsed.GetValue(queueTokens), "--max-queue-tokens"),
                    Workers = AtLeastOne(parsed.GetValue(sessions), "--sessions"),
                },
                RequestTimeout = Seconds(parsed.GetValue(requestTimeout), "--request-timeout", positive: true),
                DrainTimeout = Seconds(parsed.GetValue(drainTimeout), "--drain-timeout", positive: false),
                JsonLogs = parsed.GetValue(jsonLogs),
                ApiKey = parsed.GetValue(apiKeyFile) is string keyFile ? ReadKey(keyFile) : null,
            };
            OutputPath.CheckInput(parsed.GetValue(warmUp), "--warm-up");
            OutputPath.CheckInput(parsed.GetValue(warmState), "--warm-state");

            var watch = Stopwatch.StartNew();
            var elmo = model.Load(parsed, console, quiet: false, out string? weightsPath);
            var progress = new Progress.ProgressReporter(console, quiet: false);
            var (mode, state, modeText) = EmbedCommand.State(parsed, elmo, weightsPath, parsed.GetValue(model.CacheDir), progress, stateless, stateful, warmUp, warmState);
            var pool = new ElmoSessionPool(elmo, mode, state, threadCount, maxSessions: options.Batching.Workers);
            var embedder = new ElmoEmbedder(pool);
            _ = pool.WarmState; // computed (or read from the cache) now, not by the first request
            embedder.EmbedSentence(["elmo", "serve", "warm-up", "."]); // the kernels compiled before the first request
            watch.Stop();
            string description = weightsPath ?? "demo (built-in, RANDOM weights: its vectors mean nothing)";
            var served = new ServingModel(embedder, description, modeText, watch.Elapsed, Version);

            return Run(console, served, options);
        });
        return command;
    }

    /// <summary>The tool's version (the informational version of the <c>elmo</c> assembly).</summary>
    public static string Version =>
        typeof(ServeCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    private static int Run(CliConsole console, ServingModel served, ServerOptions options)
    {
        var server = new ElmoServer(served, options);
        // A stop signal drains the requests in flight, which may take up to the drain timeout (then the batch running).
        console.AllowGracePeriod(options.DrainTimeout + TimeSpan.FromSeconds(30));
        try
        {
            server.StartAsync(console.Cancellation).GetAwaiter().GetResult();
            console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"elmo serve: listening on {string.Join(", ", server.Addresses)}; model {served.Description}; {served.StateDescription}; {served.Embedder.Sessions.ThreadsPerSession} thread(s) per batch, {options.Batching.Workers} session(s); loaded in {served.LoadTime.TotalSeconds:F2} s"));
            console.Error.Flush();
            // The one cancellation path of the process (SIGINT/SIGTERM) ends the wait; then the server drains.
            WaitHandle.WaitAny([console.Cancellation.WaitHandle]);
            server.StopAsync().GetAwaiter().GetResult();
            console.Error.WriteLine("elmo serve: stopped.");
            return ElmoCli.Success;
        }
        catch (OperationCanceledException) when (console.Cancellation.IsCancellationRequested)
        {
            return ElmoCli.Success;
        }
        finally
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static string[] ParseUrls(string text)
    {
        var urls = text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (urls.Length == 0) throw new UsageException("--urls is empty: give http://HOST:PORT, e.g. http://127.0.0.1:8080.");
        foreach (string url in urls)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/" || uri.Query.Length > 0)
            {
                throw new UsageException($"--urls: '{url}' is not http://HOST:PORT (e.g. http://127.0.0.1:8080).");
            }
            if (uri.Scheme == "https")
            {
                throw new UsageException($"--urls: '{url}': https is not offered (no certificate handling); serve http on loopback and put a TLS proxy in front.");
            }
        }
        return urls;
    }

    private static string ReadKey(string path)
    {
        OutputPath.CheckInput(path, "--api-key-file");
        string key;
        try
        {
            key = File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ElmoInputException($"--api-key-file '{path}' cannot be read: {e.Message}") { FilePath = path };
        }
        if (key.Length == 0) throw new ElmoInputException($"--api-key-file '{path}' is empty; write the key on its first line.") { FilePath = path };
        if (key.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            throw new ElmoInputException($"--api-key-file '{path}' holds white space or control characters inside the key; a key is one word.") { FilePath = path };
        }
        return key;
    }

    private static int AtLeastOne(int value, string flag) =>
        value >= 1 ? value : throw new UsageException($"{flag} must be at least 1, got {value}.");

    private static TimeSpan Milliseconds(double value, string flag, double min, double max) =>
        double.IsFinite(value) && value >= min && value <= max
            ? TimeSpan.FromMilliseconds(value)
            : throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{flag} must be between {min} and {max}, got {value}."));

    private static TimeSpan Seconds(double value, string flag, bool positive) =>
        double.IsFinite(value) && (positive ? value > 0 : value >= 0) && value <= 86_400
            ? TimeSpan.FromSeconds(value)
            : throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{flag} must be {(positive ? "above" : "at least")} 0 and at most 86400 seconds, got {value}."));
}
