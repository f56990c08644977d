using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Elmo.Core;

namespace Elmo.Server;

/// <summary>
/// What <c>GET /metrics</c> reports, in the Prometheus text format: requests by path and status, the latency of
/// <c>/v1/embed</c>, batch sizes and times, the queue, tokens embedded (and per second over the last minute), and
/// requests refused by reason. Thread-safe.
/// </summary>
internal sealed class ServerMetrics
{
    /// <summary>The paths counted by name; any other is counted as <c>other</c> (labels stay few whatever clients ask for).</summary>
    public static readonly IReadOnlySet<string> Paths = new HashSet<string>(StringComparer.Ordinal) { "/v1/embed", "/v1/model", "/healthz", "/readyz", "/metrics", "/openapi.json" };

    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<(string Path, int Status), long> _requests = new();
    private readonly ConcurrentDictionary<string, long> _rejected = new(StringComparer.Ordinal);
    private readonly Histogram _latency = new("elmo_request_duration_seconds", "Time from the request's arrival to the end of its answer, POST /v1/embed.",
        [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);
    private readonly Histogram _batchSentences = new("elmo_batch_sentences", "Sentences per batch.", [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
    private readonly Histogram _batchTokens = new("elmo_batch_tokens", "Tokens per batch.", [16, 64, 256, 1024, 4096, 16384, 65536]);
    private readonly Histogram _batchSeconds = new("elmo_batch_duration_seconds", "Time to run one batch.", [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
    private readonly Queue<(long Timestamp, int Tokens)> _recent = new();
    private readonly long _started = Stopwatch.GetTimestamp();

    /// <summary>Counts a finished request.</summary>
    public void Request(string path, int status, TimeSpan elapsed)
    {
        string label = Paths.Contains(path) ? path : "other";
        _requests.AddOrUpdate((label, status), 1, (_, n) => n + 1);
        if (label == "/v1/embed" && status == 200) _latency.Observe(elapsed.TotalSeconds);
    }

    /// <summary>Counts a refused request by reason (<c>queue_full</c>, <c>too_large</c>, <c>invalid</c>, <c>unauthorized</c>, <c>timeout</c>, ...).</summary>
    public void Reject(string reason) => _rejected.AddOrUpdate(reason, 1, (_, n) => n + 1);

    /// <summary>Counts a batch.</summary>
    public void Batch(BatchReport batch)
    {
        _batchSentences.Observe(batch.Sentences);
        _batchTokens.Observe(batch.Tokens);
        _batchSeconds.Observe(batch.Elapsed.TotalSeconds);
        if (batch.Failed) return;
        lock (_recent) _recent.Enqueue((Stopwatch.GetTimestamp(), batch.Tokens));
    }

    /// <summary>The metrics in the Prometheus text format (version 0.0.4).</summary>
    public string Render(BatcherStatistics stats, ModelInfo model)
    {
        var text = new StringBuilder(4096);
        text.Append("# HELP elmo_info The model and how it is served (value 1).\n# TYPE elmo_info gauge\n");
        text.Append(CultureInfo.InvariantCulture, $"elmo_info{{version=\"{Escape(model.Version)}\",state_mode=\"{model.StateMode}\",warm_state=\"{model.WarmStateFingerprint ?? ""}\",output_dim=\"{model.OutputDim}\"}} 1\n");
        text.Append("# HELP elmo_requests_total Requests answered, by path and HTTP status.\n# TYPE elmo_requests_total counter\n");
        foreach (var ((path, status), n) in _requests.OrderBy(r => r.Key.Path, StringComparer.Ordinal).ThenBy(r => r.Key.Status))
        {
            text.Append(CultureInfo.InvariantCulture, $"elmo_requests_total{{path=\"{path}\",status=\"{status}\"}} {n}\n");
        }
        text.Append("# HELP elmo_rejected_requests_total Requests refused, by reason.\n# TYPE elmo_rejected_requests_total counter\n");
        foreach (var (reason, n) in _rejected.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"elmo_rejected_requests_total{{reason=\"{reason}\"}} {n}\n");
        }
        _latency.Render(text);
        _batchSentences.Render(text);
        _batchTokens.Render(text);
        _batchSeconds.Render(text);
        Gauge(text, "elmo_queue_requests", "Requests waiting for a batch.", stats.QueuedRequests);
        Gauge(text, "elmo_queue_sentences", "Sentences waiting for a batch.", stats.QueuedSentences);
        Gauge(text, "elmo_queue_tokens", "Tokens waiting for a batch.", stats.QueuedTokens);
        Gauge(text, "elmo_batches_running", "Batches running now.", stats.RunningBatches);
        Counter(text, "elmo_batches_total", "Batches run.", stats.Batches);
        Counter(text, "elmo_sentences_total", "Sentences embedded.", stats.Sentences);
        Counter(text, "elmo_tokens_total", "Tokens embedded.", stats.Tokens);
        Counter(text, "elmo_cancelled_requests_total", "Requests whose client went away before the answer.", stats.Cancelled);
        Counter(text, "elmo_failed_requests_total", "Requests that failed in the engine.", stats.Failed);
        text.Append(CultureInfo.InvariantCulture, $"# HELP elmo_tokens_per_second Tokens embedded per second over the last minute.\n# TYPE elmo_tokens_per_second gauge\nelmo_tokens_per_second {TokensPerSecond().ToString("F1", CultureInfo.InvariantCulture)}\n");
        return text.ToString();
    }

    private double TokensPerSecond()
    {
        long now = Stopwatch.GetTimestamp();
        long since = now - (long)(Window.TotalSeconds * Stopwatch.Frequency);
        long tokens = 0;
        lock (_recent)
        {
            while (_recent.Count > 0 && _recent.Peek().Timestamp < since) _recent.Dequeue();
            foreach (var (_, n) in _recent) tokens += n;
        }
        double seconds = Math.Min(Window.TotalSeconds, (double)(now - _started) / Stopwatch.Frequency);
        return seconds > 0 ? tokens / seconds : 0;
    }

    private static void Gauge(StringBuilder text, string name, string help, long value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");

    private static void Counter(StringBuilder text, string name, string help, long value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");

    private static string Escape(string label) => label.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
