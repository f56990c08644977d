using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Elmo.Core;
using Elmo.Server;
using PureHDF;

namespace Elmo.Cli.Commands;

/// <summary>
/// <c>elmo bench --serve</c>: in one process and one run, offline <c>elmo embed</c> throughput (the corpus embedder
/// writing an HDF5 file), then an <see cref="ElmoServer"/> on loopback under 1, 8 and 32 concurrent clients
/// (throughput and p50/p99 latency per request), the single-sentence latency at idle beside the library's batch-1
/// latency (interleaved, sentence by sentence), and a check that every sentence the server answers is bit for bit
/// the offline output. Rounds repeat the whole sequence; medians are reported.
/// </summary>
internal static class ServeBench
{
    /// <summary>What to measure.</summary>
    /// <param name="Clients">Concurrent client counts.</param>
    /// <param name="RequestSentences">Sentences per request in the throughput runs.</param>
    /// <param name="LatencySentences">Single-sentence requests (and library calls) in the idle-latency run.</param>
    /// <param name="Rounds">Repetitions of the whole sequence.</param>
    /// <param name="BatchSize">Offline batch size, and the server's sentences per batch at most.</param>
    /// <param name="Threads">Threads per batch.</param>
    /// <param name="Npy">Ask the server for .npy instead of JSON.</param>
    public sealed record Settings(int[] Clients, int RequestSentences, int LatencySentences, int Rounds, int BatchSize, int? Threads, bool Npy);

    public static int Run(CliConsole console, ElmoModel elmo, string description, List<InputSentence> lines, Settings settings)
    {
        var o = console.Out;
        long tokens = lines.Sum(s => (long)s.Tokens.Count);
        var sentences = lines.Select(s => s.Tokens).ToArray();
        string format = settings.Npy ? "application/x-npy" : "application/json";
        int threads = settings.Threads ?? Environment.ProcessorCount;
        o.WriteLine(Invariant($"model: {description}; {elmo.Weights.ParameterCount / 1e6:F1} M parameters"));
        o.WriteLine(Invariant($"corpus: {lines.Count} sentences, {tokens} tokens; output top, warm state; offline batch size {settings.BatchSize}; server: batches of at most {settings.BatchSize} sentences, requests of {settings.RequestSentences} sentences, answers as {format}"));
        o.WriteLine(Invariant($"machine: {Environment.ProcessorCount} cores, kernel path {Kernels.KernelPaths.Best}, {threads} thread(s) per batch; load average {LoadAverage()}"));

        string offlinePath = Path.Combine(Path.GetTempPath(), $"elmo-bench-serve-{Environment.ProcessId}-{Guid.NewGuid():N}.hdf5");
        var embedSettings = new EmbedSettings { Layout = OutputLayout.Top, BatchSize = settings.BatchSize, Mode = StateMode.Warm, Threads = settings.Threads };
        var library = new ElmoEmbedder(elmo, StateMode.Warm, threads: settings.Threads);
        var options = new ServerOptions
        {
            Urls = ["http://127.0.0.1:0"],
            Batching = new BatcherOptions { MaxBatchSentences = settings.BatchSize, MaxBatchTokens = Math.Max(BatcherOptions.DefaultMaxBatchTokens, settings.BatchSize * 64) },
            Limits = new RequestLimits { MaxSentences = Math.Max(512, settings.RequestSentences) },
        };
        var pool = new ElmoSessionPool(elmo, StateMode.Warm, null, settings.Threads, maxSessions: options.Batching.Workers);
        var served = new ServingModel(new ElmoEmbedder(pool), description, "warm", TimeSpan.Zero, ServeCommand.Version);
        var server = new ElmoServer(served, options, logging => { });
        try
        {
            server.StartAsync(console.Cancellation).GetAwaiter().GetResult();
            var address = new Uri(server.Addresses[0]);
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, UseProxy = false }) { BaseAddress = address, Timeout = TimeSpan.FromMinutes(30) };
            var batches = new List<BatchReport>();
            server.Batcher.BatchCompleted += b =>
            {
                lock (batches) batches.Add(b);
            };

            // Untimed warm-up: every kernel and the HTTP path compiled, the warm state in place.
            library.EmbedSentence(sentences[0], LayerChoice.Top);
            Send(client, Body(sentences.Take(settings.RequestSentences)), format).GetAwaiter().GetResult();

            var offline = new List<double>();
            var offlineCpu = new List<double>();
            var runs = settings.Clients.ToDictionary(c => c, _ => new List<ClientRun>());
            var idle = new List<(double Library, double Server)>();
            for (int round = 1; round <= settings.Rounds; round++)
            {
                console.Cancellation.ThrowIfCancellationRequested();
                GC.Collect();
                var cpu = Environment.CpuUsage.TotalTime;
                var done = CorpusEmbedder.Run(elmo, CorpusInput.FromSentences(lines), offlinePath, embedSettings, cancellationToken: console.Cancellation);
                double cpuSeconds = Math.Max(1e-3, (Environment.CpuUsage.TotalTime - cpu).TotalSeconds);
                offline.Add(tokens / done.Elapsed.TotalSeconds);
                offlineCpu.Add(tokens / cpuSeconds);
                o.WriteLine(Invariant($"round {round}/{settings.Rounds}: offline elmo embed {tokens / done.Elapsed.TotalSeconds:F0} tokens/s ({done.Elapsed.TotalSeconds:F2} s; CPU {cpuSeconds:F2} s, {tokens / cpuSeconds:F0} tokens per CPU-second)"));
                foreach (int c in settings.Clients)
                {
                    GC.Collect();
                    lock (batches) batches.Clear();
                    cpu = Environment.CpuUsage.TotalTime;
                    var run = Load(client, sentences, c, settings.RequestSentences, format, console.Cancellation);
                    cpuSeconds = Math.Max(1e-3, (Environment.CpuUsage.TotalTime - cpu).TotalSeconds);
                    double meanBatch;
                    lock (batches) meanBatch = batches.Count == 0 ? 0 : batches.Average(b => b.Sentences);
                    run = run with { MeanBatch = meanBatch, CpuSeconds = cpuSeconds };
                    runs[c].Add(run);
                    o.WriteLine(Invariant($"round {round}/{settings.Rounds}: server, {c,2} client(s): {tokens / run.Seconds:F0} tokens/s ({run.Seconds:F2} s; CPU {cpuSeconds:F2} s, {tokens / cpuSeconds:F0} tokens per CPU-second), latency p50 {run.P50:F3} s, p99 {run.P99:F3} s, mean batch {meanBatch:F1} sentences, {run.Errors} errors"));
                }
                // Idle latency: one sentence at a time, the library's batch 1 and the server alternating per sentence.
                GC.Collect();
                var lib = new List<double>();
                var srv = new List<double>();
                foreach (var s in sentences.Take(settings.LatencySentences))
                {
                    var watch = Stopwatch.StartNew();
                    library.EmbedSentence(s, LayerChoice.Top);
                    lib.Add(watch.Elapsed.TotalSeconds);
                    byte[] body = Body([s]);
                    watch.Restart();
                    var status = Send(client, body, format).GetAwaiter().GetResult();
                    srv.Add(watch.Elapsed.TotalSeconds);
                    if (status != HttpStatusCode.OK) throw new InvalidOperationException($"The server answered {(int)status} to a single sentence.");
                }
                idle.Add((Median(lib), Median(srv)));
                o.WriteLine(Invariant($"round {round}/{settings.Rounds}: idle, one sentence: library batch 1 median {Median(lib):F3} s, server median {Median(srv):F3} s ({Median(srv) / Median(lib):F2}x)"));
            }

            o.WriteLine();
            double offlineMedian = Median(offline), offlineCpuMedian = Median(offlineCpu);
            o.WriteLine(Invariant($"offline elmo embed (batch {settings.BatchSize}): median {offlineMedian:F0} tokens/s (min {offline.Min():F0}, max {offline.Max():F0}); {offlineCpuMedian:F0} tokens per CPU-second"));
            foreach (int c in settings.Clients)
            {
                var r = runs[c];
                double throughput = Median(r.Select(x => tokens / x.Seconds).ToList());
                double perCpu = Median(r.Select(x => tokens / x.CpuSeconds).ToList());
                // Each round's server run against the offline run of the same round: the load of the machine moves less within a round.
                double ratio = Median(r.Select((x, i) => tokens / x.Seconds / offline[i]).ToList());
                o.WriteLine(Invariant($"server, {c,2} client(s): median {throughput:F0} tokens/s = {throughput / offlineMedian:P0} of offline (median of the per-round ratios {ratio:P0}); {perCpu:F0} tokens per CPU-second = {perCpu / offlineCpuMedian:P0} of offline; latency p50 {Median(r.Select(x => x.P50).ToList()):F3} s, p99 {Median(r.Select(x => x.P99).ToList()):F3} s; mean batch {Median(r.Select(x => x.MeanBatch).ToList()):F1} sentences; errors {r.Sum(x => x.Errors)}"));
            }
            double libMedian = Median(idle.Select(x => x.Library).ToList()), srvMedian = Median(idle.Select(x => x.Server).ToList());
            o.WriteLine(Invariant($"idle single-sentence latency (first {Math.Min(settings.LatencySentences, lines.Count)} sentences): server p50 {srvMedian:F3} s = {srvMedian / libMedian:F2}x the library's batch-1 {libMedian:F3} s"));

            int verified = Verify(client, sentences, settings.RequestSentences, offlinePath);
            o.WriteLine(Invariant($"verified: {verified} sentences answered by the server are bit for bit those of the offline elmo embed output"));
            return ElmoCli.Success;
        }
        finally
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            File.Delete(offlinePath);
        }
    }

    /// <summary>One throughput run: the wall time of all requests and the latency percentiles of single requests.</summary>
    private sealed record ClientRun(double Seconds, double P50, double P99, int Errors, double MeanBatch, double CpuSeconds = 0);

    private static ClientRun Load(HttpClient client, IReadOnlyList<string>[] sentences, int clients, int perRequest, string format, CancellationToken cancellationToken)
    {
        var requests = sentences.Chunk(perRequest).Select(chunk => Body(chunk)).ToArray();
        var latencies = new double[requests.Length];
        int next = -1, errors = 0;
        var watch = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < requests.Length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                long start = Stopwatch.GetTimestamp();
                var status = await Send(client, requests[i], format).ConfigureAwait(false);
                latencies[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
                if (status != HttpStatusCode.OK) Interlocked.Increment(ref errors);
            }
        }, cancellationToken)).ToArray();
        Task.WaitAll(workers, cancellationToken);
        double seconds = watch.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return new ClientRun(seconds, Percentile(latencies, 0.50), Percentile(latencies, 0.99), errors, 0);
    }

    /// <summary>Every sentence through the server (as .npy), checked bit for bit against the offline HDF5 file.</summary>
    private static int Verify(HttpClient client, IReadOnlyList<string>[] sentences, int perRequest, string offlinePath)
    {
        using var file = H5File.OpenRead(offlinePath);
        int index = 0;
        foreach (var chunk in sentences.Chunk(perRequest))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/embed") { Content = new ByteArrayContent(Body(chunk)) };
            request.Headers.Accept.ParseAdd("application/x-npy");
            using var response = client.Send(request);
            if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"Verification: the server answered {(int)response.StatusCode}.");
            byte[] bytes = response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
            int at = 0;
            foreach (var _ in chunk)
            {
                int headerLength = BitConverter.ToUInt16(bytes, at + 8);
                at += 10 + headerLength;
                var expected = file.Dataset(index.ToString(CultureInfo.InvariantCulture)).Read<float[]>();
                var got = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(at, 4 * expected.Length));
                if (!MemoryMarshal.Cast<float, int>(got).SequenceEqual(MemoryMarshal.Cast<float, int>(expected.AsSpan())))
                {
                    throw new InvalidOperationException($"Verification: sentence {index} differs from the offline output.");
                }
                at += 4 * expected.Length;
                index++;
            }
        }
        return index;
    }

    private static async Task<HttpStatusCode> Send(HttpClient client, byte[] body, string format)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/embed") { Content = new ByteArrayContent(body) };
        request.Headers.Accept.ParseAdd(format);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead).ConfigureAwait(false);
        return response.StatusCode;
    }

    private static byte[] Body(IEnumerable<IReadOnlyList<string>> sentences)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("sentences");
            foreach (var s in sentences)
            {
                writer.WriteStartArray();
                foreach (string t in s) writer.WriteStringValue(t);
                writer.WriteEndArray();
            }
            writer.WriteEndArray();
            writer.WriteString("output", "top");
            writer.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static double Median(List<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length == 0 ? 0 : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    private static string LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
