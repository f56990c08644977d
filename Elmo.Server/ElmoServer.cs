using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Elmo.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Elmo.Server;

/// <summary>
/// The embedding service of <c>elmo serve</c>: Kestrel and minimal APIs over an <see cref="EmbeddingBatcher"/>. A thin
/// shell: the batching, and the vectors, are Elmo.Core's; this class reads and checks requests, negotiates the answer's
/// format, maps every refusal to an RFC 9457 problem body, counts metrics and logs one line per request (never a body).
/// </summary>
/// <remarks>
/// Endpoints: <c>POST /v1/embed</c>, <c>GET /v1/model</c>, <c>GET /healthz</c>, <c>GET /readyz</c>, <c>GET /metrics</c>,
/// <c>GET /openapi.json</c> (see docs/server.md). The server never reads a file or fetches a URL because of a request:
/// a request holds tokens and an output kind, nothing else. No signal handler is installed: whoever owns the server
/// calls <see cref="StopAsync"/> (the CLI does on its one SIGINT/SIGTERM path), which stops accepting connections,
/// lets requests in flight finish within <see cref="ServerOptions.DrainTimeout"/>, then stops the batcher.
/// </remarks>
public sealed class ElmoServer : IAsyncDisposable
{
    private const string ProblemMediaType = "application/problem+json";
    private static readonly object InfoKey = new();

    private readonly WebApplication _app;
    private readonly ILogger _log;
    private readonly ModelInfo _info;
    private readonly byte[]? _apiKey;
    private readonly string _openApi;
    private volatile bool _draining;
    private int _stopped;

    /// <summary>Builds the server (nothing listens until <see cref="StartAsync"/>).</summary>
    /// <param name="model">The model and its embedder (warm or stateless).</param>
    /// <param name="options">Addresses, limits, batching, timeouts, API key.</param>
    /// <param name="configureLogging">Replaces the default logging (one line per entry on standard error).</param>
    /// <exception cref="ArgumentException">An option is out of range, or the embedder is stateful.</exception>
    public ElmoServer(ServingModel model, ServerOptions options, Action<ILoggingBuilder>? configureLogging = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Model = model;
        Options = options;
        Batcher = new EmbeddingBatcher(model.Embedder, options.Batching);
        Batcher.BatchCompleted += Metrics.Batch;
        _apiKey = options.ApiKey is null ? null : Encoding.UTF8.GetBytes(options.ApiKey);
        _info = Describe(model, options);
        _openApi = OpenApiDocument.Template.Replace("{version}", JsonEncodedText.Encode(model.Version).ToString(), StringComparison.Ordinal);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "elmo", ContentRootPath = AppContext.BaseDirectory });
        // Configuration comes from the options only: no appsettings.json from the working directory, no ASPNETCORE_URLS.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.Logging.ClearProviders();
        if (configureLogging is not null)
        {
            configureLogging(builder.Logging);
        }
        else
        {
            if (options.JsonLogs)
            {
                builder.Logging.AddJsonConsole(o => o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ");
            }
            else
            {
                builder.Logging.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                    o.UseUtcTimestamp = true;
                });
            }
            builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddFilter("Elmo", LogLevel.Information);
        }
        builder.Services.AddSingleton<IHostLifetime, SignalFreeLifetime>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.DrainTimeout);
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ServerJsonContext.Default));
        builder.WebHost.UseUrls([.. options.Urls]);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.Limits.MaxBodyBytes;
            k.Limits.RequestHeadersTimeout = options.RequestTimeout;
            k.Limits.KeepAliveTimeout = options.KeepAliveTimeout;
            k.Limits.MaxConcurrentConnections = options.MaxConnections;
            k.Limits.MaxConcurrentUpgradedConnections = 0;
        });

        _app = builder.Build();
        _log = _app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Elmo.Server");
        _app.Use(Guard);
        _app.MapPost("/v1/embed", EmbedAsync);
        _app.MapGet("/v1/model", context => WriteJsonAsync(context, 200, _info, ServerJsonContext.Default.ModelInfo));
        _app.MapGet("/healthz", context => WriteJsonAsync(context, 200, new StatusBody("alive"), ServerJsonContext.Default.StatusBody));
        _app.MapGet("/readyz", context => _draining
            ? WriteJsonAsync(context, 503, new StatusBody("draining"), ServerJsonContext.Default.StatusBody)
            : WriteJsonAsync(context, 200, new StatusBody("ready"), ServerJsonContext.Default.StatusBody));
        _app.MapGet("/metrics", context =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            return context.Response.WriteAsync(Metrics.Render(Batcher.GetStatistics(), _info), context.RequestAborted);
        });
        _app.MapGet("/openapi.json", context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(_openApi, context.RequestAborted);
        });
    }

    /// <summary>The model and how it is described.</summary>
    public ServingModel Model { get; }

    /// <summary>The options the server runs with.</summary>
    public ServerOptions Options { get; }

    /// <summary>The batcher behind <c>POST /v1/embed</c>.</summary>
    public EmbeddingBatcher Batcher { get; }

    /// <summary>The addresses listened on, once started (with the ports chosen for port 0).</summary>
    public IReadOnlyList<string> Addresses =>
        [.. _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []];

    /// <summary>What <c>GET /metrics</c> reports.</summary>
    internal ServerMetrics Metrics { get; } = new();

    /// <summary>Binds the addresses and starts answering.</summary>
    /// <param name="cancellationToken">Abandons the start.</param>
    /// <exception cref="IOException">An address is taken or cannot be bound.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default) => _app.StartAsync(cancellationToken);

    /// <summary>
    /// Stops gracefully: <c>/readyz</c> answers 503, no new connection is accepted, requests in flight (queued or
    /// running) finish within <see cref="ServerOptions.DrainTimeout"/> (connections still open then are closed), then
    /// the batcher stops. Safe to call more than once.
    /// </summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        _draining = true;
        var stats = Batcher.GetStatistics();
        ServerLog.Draining(_log, stats.QueuedRequests, stats.RunningBatches, Options.DrainTimeout.TotalSeconds);
        using (var limit = new CancellationTokenSource(Options.DrainTimeout))
        {
            await _app.StopAsync(limit.Token).ConfigureAwait(false);
        }
        Batcher.Complete();
        await Batcher.Completion.WaitAsync(Options.DrainTimeout).ConfigureAwait(false);
        stats = Batcher.GetStatistics();
        ServerLog.Stopped(_log, stats.Completed, stats.Rejected, stats.Cancelled);
    }

    /// <summary>Stops (if not yet stopped) and releases the host and the batcher.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync().ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The batcher's last batch outlived the drain timeout: Dispose below waits for it.
        }
        await _app.DisposeAsync().ConfigureAwait(false);
        Batcher.Dispose();
    }

    /// <summary>
    /// Around every request: the API key, a problem body for every error answered without one (404, 405, ...), an
    /// answer for an unexpected exception, the metrics and one log line.
    /// </summary>
    private async Task Guard(HttpContext context, RequestDelegate next)
    {
        long start = Stopwatch.GetTimestamp();
        var info = new RequestInfo();
        context.Items[InfoKey] = info;
        try
        {
            if (_apiKey is not null && !IsOpen(context.Request.Path) && !HasKey(context.Request))
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                throw new RequestProblem(401, "Unauthorized", "This server needs an API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'.", "Authorization");
            }
            await next(context).ConfigureAwait(false);
            if (context.Response.StatusCode >= 400 && !context.Response.HasStarted)
            {
                string detail = context.Response.StatusCode switch
                {
                    404 => $"No such endpoint: {Shorten(context.Request.Path.Value)}. See /openapi.json.",
                    405 => $"{context.Request.Method} is not allowed on {context.Request.Path.Value}. See /openapi.json.",
                    _ => ReasonPhrases.GetReasonPhrase(context.Response.StatusCode),
                };
                throw new RequestProblem(context.Response.StatusCode, ReasonPhrases.GetReasonPhrase(context.Response.StatusCode), detail);
            }
        }
        catch (RequestProblem problem)
        {
            info.Detail = problem.Message;
            Metrics.Reject(problem.Status switch
            {
                401 => "unauthorized",
                404 or 405 => "not_found",
                406 => "not_acceptable",
                408 => "timeout",
                413 => "too_large",
                422 => "unprocessable",
                503 => "queue_full",
                _ => "invalid",
            });
            await WriteProblemAsync(context, problem).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; its queued work was taken out of the queue. Nothing to answer (logged as 499).
            info.Detail = "the client closed the connection";
            context.Response.StatusCode = 499;
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            ServerLog.Failed(_log, context.Request.Method, context.Request.Path.Value ?? "", e);
            info.Detail = e.Message;
            Metrics.Reject("internal");
            await WriteProblemAsync(context, new RequestProblem(500, "Internal error", $"The server failed: {e.GetType().Name}: {e.Message}")).ConfigureAwait(false);
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(start);
            int status = context.Response.StatusCode;
            string path = context.Request.Path.Value ?? "";
            Metrics.Request(path, status, elapsed);
            string client = context.Connection.RemoteIpAddress?.ToString() ?? "-";
            double ms = Math.Round(elapsed.TotalMilliseconds, 1);
            if (info.Detail is null) ServerLog.Request(_log, context.Request.Method, Shorten(path), status, ms, info.Sentences, info.Tokens, client);
            else ServerLog.Refused(_log, context.Request.Method, Shorten(path), status, ms, info.Detail, client);
        }
    }

    /// <summary><c>POST /v1/embed</c>.</summary>
    private async Task EmbedAsync(HttpContext context)
    {
        if (_draining) throw new RequestProblem(503, "Stopping", "The server is stopping and takes no new requests.") { RetryAfterSeconds = 1 };
        bool npy = Negotiate(context.Request);
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        var request = EmbedRequestReader.Parse(body, Options.Limits, Model.Embedder.Model.Options.OutputLayers);
        var info = (RequestInfo)context.Items[InfoKey]!;
        info.Sentences = request.Sentences.Count;
        info.Tokens = request.Tokens;

        IReadOnlyList<SentenceEmbedding> results;
        try
        {
            results = await Batcher.EmbedAsync(request.Sentences, request.Output, context.RequestAborted).ConfigureAwait(false);
        }
        catch (QueueFullException full)
        {
            throw new RequestProblem(503, "Queue full", $"The server is busy: {full.Message} Retry later.") { RetryAfterSeconds = (int)full.RetryAfter.TotalSeconds };
        }
        catch (InvalidOperationException) when (_draining)
        {
            throw new RequestProblem(503, "Stopping", "The server is stopping and takes no new requests.") { RetryAfterSeconds = 1 };
        }

        if (!EmbedResponseWriter.AllFinite(results))
        {
            // The layers are finite, so this is a mix whose gamma overflows float32: refused, as elmo embed refuses it.
            throw new RequestProblem(422, "Result overflows float32", "output.gamma: the scalar mix overflows float32 (values reach ±Infinity; float32 reaches about ±3.4e38); use a smaller gamma.", "output.gamma");
        }
        var response = context.Response;
        response.StatusCode = 200;
        if (npy)
        {
            response.ContentType = EmbedResponseWriter.NpyMediaType;
            response.ContentLength = EmbedResponseWriter.NpyLength(results);
            await EmbedResponseWriter.WriteNpyAsync(response.BodyWriter, results, context.RequestAborted).ConfigureAwait(false);
            return;
        }
        response.ContentType = "application/json";
        await EmbedResponseWriter.WriteJsonAsync(response.BodyWriter, results, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>True for <c>.npy</c>, false for JSON, from the <c>Accept</c> header (JSON when absent); 406 when neither is acceptable.</summary>
    private static bool Negotiate(HttpRequest request)
    {
        var accept = request.GetTypedHeaders().Accept;
        if (accept.Count == 0) return false;
        double json = 0, npy = 0;
        foreach (var media in accept)
        {
            double q = media.Quality ?? 1;
            string type = media.MediaType.Value ?? "";
            if (type.Equals(EmbedResponseWriter.NpyMediaType, StringComparison.OrdinalIgnoreCase)) npy = Math.Max(npy, q);
            else if (type is "*/*" || type.Equals("application/*", StringComparison.OrdinalIgnoreCase) || type.Equals("application/json", StringComparison.OrdinalIgnoreCase)) json = Math.Max(json, q);
        }
        if (json <= 0 && npy <= 0)
        {
            throw new RequestProblem(406, "Not acceptable", $"Accept: the answer is application/json or {EmbedResponseWriter.NpyMediaType}.", "Accept");
        }
        return npy > json;
    }

    /// <summary>Reads the body, within <see cref="RequestLimits.MaxBodyBytes"/> and <see cref="ServerOptions.RequestTimeout"/>.</summary>
    private async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        int max = Options.Limits.MaxBodyBytes;
        long? declared = context.Request.ContentLength;
        if (declared > max)
        {
            context.Response.Headers.Connection = "close";
            throw RequestProblem.TooLarge("body", $"{declared} bytes; at most {max} per request.");
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(Options.RequestTimeout);
        var buffer = new MemoryStream(declared is long n ? (int)n : 4096);
        var chunk = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, timeout.Token).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > max)
                {
                    context.Response.Headers.Connection = "close";
                    throw RequestProblem.TooLarge("body", $"more than {max} bytes; at most {max} per request.");
                }
                buffer.Write(chunk, 0, read);
            }
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            context.Response.Headers.Connection = "close";
            throw new RequestProblem(408, "Request timeout", $"body: not received within {Options.RequestTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s.", "body");
        }
        catch (BadHttpRequestException e)
        {
            context.Response.Headers.Connection = "close";
            throw new RequestProblem(e.StatusCode, ReasonPhrases.GetReasonPhrase(e.StatusCode), $"body: {e.Message}", "body");
        }
        return buffer.ToArray();
    }

    private bool HasKey(HttpRequest request)
    {
        string? given = null;
        string authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) given = authorization["Bearer ".Length..].Trim();
        else if (request.Headers.TryGetValue("X-API-Key", out var header)) given = header.ToString().Trim();
        return given is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), _apiKey);
    }

    /// <summary>Probes stay open without the key (orchestrators cannot send one).</summary>
    private static bool IsOpen(PathString path) => path == "/healthz" || path == "/readyz";

    private static Task WriteJsonAsync<T>(HttpContext context, int status, T value, JsonTypeInfo<T> type)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted);
    }

    private static async Task WriteProblemAsync(HttpContext context, RequestProblem problem)
    {
        if (context.Response.HasStarted) return;
        var response = context.Response;
        var keep = (response.Headers.Connection.ToString(), response.Headers.WWWAuthenticate.ToString());
        response.Clear();
        if (keep.Item1.Length > 0) response.Headers.Connection = keep.Item1;
        if (keep.Item2.Length > 0) response.Headers.WWWAuthenticate = keep.Item2;
        response.StatusCode = problem.Status;
        if (problem.RetryAfterSeconds is int seconds) response.Headers.RetryAfter = Math.Max(1, seconds).ToString(CultureInfo.InvariantCulture);
        response.ContentType = ProblemMediaType;
        var body = new ProblemBody("about:blank", problem.Title, problem.Status, problem.Message, problem.Field, context.Request.Path.Value ?? "");
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(body, ServerJsonContext.Default.ProblemBody);
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    private static ModelInfo Describe(ServingModel model, ServerOptions options)
    {
        var embedder = model.Embedder;
        var o = embedder.Model.Options;
        var warm = embedder.Sessions.WarmState;
        using var architecture = JsonDocument.Parse(o.ToJson());
        var b = options.Batching;
        return new ModelInfo(
            model.Description, model.Version, embedder.Mode == StateMode.Warm ? "warm" : "stateless", model.StateDescription,
            warm is null ? null : StateFingerprint.Of(warm),
            o.OutputLayers, o.OutputDim, embedder.Model.Weights.ParameterCount, architecture.RootElement.Clone(),
            ["all", "top", "average", "mix"], options.Limits,
            new BatchingInfo(b.MaxBatchTokens, b.MaxBatchSentences, b.MaxWait.TotalMilliseconds, b.MaxQueuedRequests, b.MaxQueuedTokens, b.Workers, embedder.Sessions.ThreadsPerSession),
            Math.Round(model.LoadTime.TotalSeconds, 3));
    }

    private static string Shorten(string? path) => path is null ? "" : path.Length <= 80 ? path : path[..77] + "...";

    /// <summary>What the log line of a request says about it.</summary>
    private sealed class RequestInfo
    {
        public int Sentences { get; set; }

        public long Tokens { get; set; }

        public string? Detail { get; set; }
    }
}
