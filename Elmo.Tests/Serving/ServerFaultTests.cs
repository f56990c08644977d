using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Elmo.Core;
using Elmo.Server;

namespace Elmo.Tests.Serving;

/// <summary>
/// Load and faults over real HTTP on loopback, each bounded in count and time: 32 concurrent clients whose every
/// answer is bitwise the library's; a flood beyond the queue (503 + Retry-After, bounded queue and memory); malformed
/// and hostile requests (bad fields, huge bodies, deep JSON, invalid UTF-8, slow bodies and headers) interleaved with
/// good requests that are still answered correctly; a client that goes away leaves the queue. About 15 s in all.
/// </summary>
[NonParallelizable]
public class ServerFaultTests
{
    private static readonly RequestLimits SmallLimits = new() { MaxBodyBytes = 4096, MaxSentences = 4, MaxTokensPerSentence = 8, MaxRequestTokens = 20, MaxTokenCharacters = 16 };

    private static bool SameBits(ReadOnlySpan<float> a, ReadOnlySpan<float> b) =>
        MemoryMarshal.Cast<float, int>(a).SequenceEqual(MemoryMarshal.Cast<float, int>(b));

    /// <summary>A good request and a check of its answer against the library alone.</summary>
    private static async Task GoodRequestAsync(ServerHost host, int id, bool npy)
    {
        var sentences = EmbeddingBatcherTests.Request(id).Select(s => s.Take(8).ToArray()).Take(2).ToArray();
        var choice = EmbeddingBatcherTests.Choice(id);
        string output = (id % 4) switch { 0 => "\"all\"", 1 => "\"top\"", 2 => "\"average\"", _ => "{\"mix\": [0.5, -1, 2], \"gamma\": 0.75}" };
        using var response = await host.EmbedAsync(ServerHost.Body(sentences, output), npy ? "application/x-npy" : null);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"request {id}: {await response.Content.ReadAsStringAsync()}");
        var got = npy ? ServerHost.ParseNpy(await response.Content.ReadAsByteArrayAsync()) : ServerHost.ParseJson(await response.Content.ReadAsStringAsync());
        var expected = new ElmoEmbedder(ServerHost.Model).EmbedBatch(sentences, choice);
        Assert.That(got, Has.Count.EqualTo(sentences.Length));
        for (int s = 0; s < sentences.Length; s++)
        {
            Assert.That(got[s].Shape, Is.EqualTo(expected[s].Shape), $"request {id}, sentence {s}: shape");
            Assert.That(SameBits(got[s].Values, expected[s].Values), Is.True, $"request {id}, sentence {s}: bits ({(npy ? "npy" : "json")})");
        }
    }

    [Test]
    public async Task ThirtyTwoConcurrentClientsGetBitwiseAnswersAndNoErrors()
    {
        await using var host = await ServerHost.StartAsync(new ServerOptions { Batching = new BatcherOptions { MaxWait = TimeSpan.FromMilliseconds(5), MaxBatchTokens = 256 } });
        const int Clients = 32, PerClient = 4;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            for (int r = 0; r < PerClient; r++) await GoodRequestAsync(host, 1000 + c * PerClient + r, npy: r % 2 == 0);
        })));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromMinutes(2)));
        var stats = host.Server.Batcher.GetStatistics();
        Assert.That((stats.Completed, stats.Failed, stats.Rejected, stats.Cancelled), Is.EqualTo((Clients * PerClient, 0L, 0L, 0L)));
        Assert.That(stats.Batches, Is.LessThan(Clients * PerClient), "requests shared batches");
    }

    [Test]
    public async Task AFloodBeyondTheQueueGets503WithRetryAfterAndTheQueueStaysBounded()
    {
        const int MaxQueued = 4;
        await using var host = await ServerHost.StartAsync(new ServerOptions { Batching = new BatcherOptions { MaxWait = TimeSpan.FromMilliseconds(50), MaxQueuedRequests = MaxQueued, MaxBatchSentences = 2 } });
        long before = Process.GetCurrentProcess().WorkingSet64;
        int maxSeen = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                maxSeen = Math.Max(maxSeen, host.Server.Batcher.GetStatistics().QueuedRequests);
                await Task.Delay(1);
            }
        });
        var sentences = Enumerable.Range(0, 4).Select(i => Enumerable.Range(0, 30).Select(t => $"flood{i}.{t}").ToArray()).ToArray();
        string body = ServerHost.Body(sentences, "\"top\"");
        var statuses = await Task.WhenAll(Enumerable.Range(0, 96).Select(_ => Task.Run(async () =>
        {
            using var response = await host.EmbedAsync(body);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                var (_, _, detail) = await ServerHost.ProblemAsync(response);
                Assert.That(detail, Does.StartWith("The server is busy: The queue is full"));
                Assert.That(response.Headers.RetryAfter?.Delta, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(1)));
            }
            else
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
                Assert.That(ServerHost.ParseJson(await response.Content.ReadAsStringAsync()), Has.Count.EqualTo(4));
            }
            return response.StatusCode;
        })));
        sampling.Cancel();
        await sampler;
        Assert.That(statuses.Count(s => s == HttpStatusCode.ServiceUnavailable), Is.GreaterThan(0), "some were refused");
        Assert.That(statuses.Count(s => s == HttpStatusCode.OK), Is.GreaterThan(0), "some were answered");
        Assert.That(maxSeen, Is.LessThanOrEqualTo(MaxQueued), "the queue never held more than its bound");
        Assert.That(host.Server.Batcher.GetStatistics().Rejected, Is.EqualTo(statuses.Count(s => s == HttpStatusCode.ServiceUnavailable)));
        Assert.That(await host.Client.GetStringAsync("/metrics"), Does.Contain($"elmo_rejected_requests_total{{reason=\"queue_full\"}} {statuses.Count(s => s == HttpStatusCode.ServiceUnavailable)}\n"));
        long growth = Process.GetCurrentProcess().WorkingSet64 - before;
        Assert.That(growth, Is.LessThan(400L << 20), $"resident memory grew by {growth >> 20} MB");
        await GoodRequestAsync(host, 7, npy: false); // still serving
    }

    [TestCase("", 400, "body", "empty")]
    [TestCase("   \n", 400, "body", "empty")]
    [TestCase("not json", 400, "body", "not valid JSON")]
    [TestCase("[1, 2]", 400, "body", "expected a JSON object")]
    [TestCase("{\"sentences\": [[\"a\"]]} {}", 400, "body", "not valid JSON")]
    [TestCase("{\"sentences\": [[\"a\"]]", 400, "body", "not valid JSON")]
    [TestCase("{}", 400, "sentences", "missing")]
    [TestCase("{\"sentences\": \"a b\"}", 400, "sentences", "expected an array of sentences")]
    [TestCase("{\"sentences\": []}", 400, "sentences", "empty")]
    [TestCase("{\"sentences\": [[\"a\", 1]]}", 400, "sentences[0][1]", "expected a string (a token), got a number")]
    [TestCase("{\"sentences\": [[\"a\"], \"b\"]}", 400, "sentences[1]", "expected an array of token strings, got a string")]
    [TestCase("{\"sentences\": [[\"a\", null]]}", 400, "sentences[0][1]", "got null")]
    [TestCase("{\"sentences\": [[\"a\"]], \"sentences\": [[\"b\"]]}", 400, "sentences", "given twice")]
    [TestCase("{\"sentences\": [[\"a\"]], \"texts\": [\"a\"]}", 400, "texts", "either sentences or texts")]
    [TestCase("{\"texts\": [\"a b\", \" \\t \"]}", 400, "texts[1]", "blank")]
    [TestCase("{\"texts\": [[\"a\"]]}", 400, "texts[0]", "expected a string")]
    [TestCase("{\"sentences\": [[\"a\"]], \"extra\": 1}", 400, "extra", "unknown field")]
    [TestCase("{\"sentences\": [[\"a\"]], \"output\": \"bottom\"}", 400, "output", "unknown output kind \"bottom\"")]
    [TestCase("{\"sentences\": [[\"a\"]], \"output\": \"mix\"}", 400, "output", "a mix is an object")]
    [TestCase("{\"sentences\": [[\"a\"]], \"output\": 3}", 400, "output", "expected \"all\"")]
    [TestCase("{\"sentences\": [[\"a\"]], \"output\": {\"mix\": [1, 2]}}", 400, "output.mix", "2 weights; this model has 3 layers")]
    [TestCase("{\"sentences\": [[\"a\"]], \"output\": {\"mix\": [1, 2, 3, 4]}}", 400, "output.mix", "more than 3 weights")]
    [TestCase("{\"sentences\": [[\"a\"]], \"output\": {\"mix\": [1, 2, \"x\"]}}", 400, "output.mix[2]", "expected a number")]
    [TestCase("{\"sentences\": [[\"a\"]], \"output\": {\"gamma\": 2}}", 400, "output.mix", "missing")]
    [TestCase("{\"sentences\": [[\"a\"]], \"output\": {\"mix\": [0, 0, 0], \"gamma\": 1e39}}", 400, "output.gamma", "outside the float32 range")]
    [TestCase("{\"sentences\": [[\"a\"]], \"output\": {\"mix\": [0, 0, 0], \"layer_norm\": true}}", 400, "output.layer_norm", "not offered")]
    [TestCase("{\"sentences\": [[\"a\"]], \"output\": {\"mix\": [0, 0, 0], \"weights\": 1}}", 400, "output.weights", "unknown field")]
    [TestCase("{\"sentences\": [[\"a\"], [\"b\"], [\"c\"], [\"d\"], [\"e\"]]}", 413, "sentences", "more than 4 sentences")]
    [TestCase("{\"texts\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}", 413, "texts", "more than 4 texts")]
    [TestCase("{\"sentences\": [[\"1\", \"2\", \"3\", \"4\", \"5\", \"6\", \"7\", \"8\", \"9\"]]}", 413, "sentences[0]", "more than 8 tokens")]
    [TestCase("{\"texts\": [\"1 2 3 4 5 6 7 8 9\"]}", 413, "texts[0]", "9 tokens; at most 8")]
    [TestCase("{\"sentences\": [[\"abcdefghijklmnopq\"]]}", 413, "sentences[0][0]", "17 characters; at most 16")]
    [TestCase("{\"sentences\": [[\"1\", \"2\", \"3\", \"4\", \"5\", \"6\", \"7\", \"8\"], [\"1\", \"2\", \"3\", \"4\", \"5\", \"6\", \"7\", \"8\"], [\"1\", \"2\", \"3\", \"4\", \"5\"]]}", 413, "sentences", "more than 20 tokens in all")]
    public async Task BadRequestsGetTheirStatusAndAProblemNamingTheField(string body, int status, string field, string detail)
    {
        await using var host = await ServerHost.StartAsync(new ServerOptions { Limits = SmallLimits });
        using var response = await host.EmbedAsync(body);
        var problem = await ServerHost.ProblemAsync(response);
        Assert.That((problem.Status, problem.Field), Is.EqualTo((status, field)), problem.Detail);
        Assert.That(problem.Detail, Does.StartWith(field + ": ").And.Contain(detail));
        await GoodRequestAsync(host, 3, npy: false);
    }

    [Test]
    public async Task HostileBodiesAreRefusedAndGoodRequestsAroundThemAreStillAnswered()
    {
        await using var host = await ServerHost.StartAsync(new ServerOptions { Limits = SmallLimits with { MaxBodyBytes = 64 * 1024 } });
        var hostile = new List<(string What, Func<Task<HttpResponseMessage>> Send, int Status, string Field)>
        {
            ("declared huge body", () => Raw(host, "POST /v1/embed HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n{\"sentences\""), 413, "body"),
            ("chunked body beyond the limit", () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, "/v1/embed") { Content = new StringContent("{\"sentences\": [[\"" + new string('a', 100_000) + "\"]]}") };
                request.Headers.TransferEncodingChunked = true;
                return host.Client.SendAsync(request);
            }, 413, "body"),
            ("deep JSON", () => host.EmbedAsync("{\"sentences\": " + new string('[', 20_000) + new string(']', 20_000) + "}"), 400, "sentences[0][0]"),
            ("deep JSON at the root", () => host.EmbedAsync(new string('[', 30_000) + new string(']', 30_000)), 400, "body"),
            ("invalid UTF-8", () => host.Client.PostAsync("/v1/embed", new ByteArrayContent([.. "{\"sentences\": [[\"ab"u8, 0xC3, 0x28, .. "\"]]}"u8])), 400, "body"),
            ("overlong UTF-8", () => host.Client.PostAsync("/v1/embed", new ByteArrayContent([.. "{\"sentences\": [[\""u8, 0xC0, 0xAF, .. "\"]]}"u8])), 400, "body"),
            ("NUL bytes", () => host.Client.PostAsync("/v1/embed", new ByteArrayContent(new byte[1000])), 400, "body"),
            ("a URL where tokens go", () => host.EmbedAsync("{\"sentences\": \"http://127.0.0.1:1/x\"}"), 400, "sentences"),
            ("a file where the output goes", () => host.EmbedAsync("{\"sentences\": [[\"a\"]], \"output\": \"/etc/passwd\"}"), 400, "output"),
        };
        int id = 0;
        foreach (var (what, send, status, field) in hostile)
        {
            var good = GoodRequestAsync(host, 100 + id++, npy: id % 2 == 0);
            using var response = await send();
            var problem = await ServerHost.ProblemAsync(response);
            Assert.That((problem.Status, problem.Field), Is.EqualTo((status, field)), $"{what}: {problem.Detail}");
            await good;
        }
        // An escaped lone surrogate is valid JSON (Python's json and elmo embed's .jsonl accept it): answered.
        using var surrogate = await host.EmbedAsync("{\"sentences\": [[\"a\\ud800b\"]], \"output\": \"top\"}");
        Assert.That(surrogate.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var expected = new ElmoEmbedder(ServerHost.Model).EmbedSentence(["a\ud800b"], LayerChoice.Top);
        Assert.That(SameBits(ServerHost.ParseJson(await surrogate.Content.ReadAsStringAsync())[0].Values, expected.Values), Is.True);
    }

    [Test]
    public async Task SlowBodiesAndSlowHeadersTimeOutWhileOthersAreServed()
    {
        await using var host = await ServerHost.StartAsync(new ServerOptions { RequestTimeout = TimeSpan.FromSeconds(1) });
        var watch = Stopwatch.StartNew();

        // A body trickling in, one byte every 200 ms (at most 40 bytes: the test stops by itself).
        using var slowBody = await Connect(host);
        var bodyStream = slowBody.GetStream();
        await bodyStream.WriteAsync(Encoding.ASCII.GetBytes("POST /v1/embed HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"));
        var trickle = Task.Run(async () =>
        {
            try
            {
                for (int i = 0; i < 40; i++)
                {
                    await bodyStream.WriteAsync("{"u8.ToArray());
                    await Task.Delay(200);
                }
            }
            catch (IOException)
            {
                // the server closed the connection
            }
        });

        // Headers trickling in.
        using var slowHeaders = await Connect(host);
        var headerStream = slowHeaders.GetStream();
        await headerStream.WriteAsync(Encoding.ASCII.GetBytes("POST /v1/embed HTTP/1.1\r\nHo"));

        await GoodRequestAsync(host, 11, npy: true);
        string answer = await ReadAll(bodyStream, TimeSpan.FromSeconds(15));
        Assert.That(answer, Does.StartWith("HTTP/1.1 408 "));
        Assert.That(answer, Does.Contain("application/problem+json").And.Contain("\"field\":\"body\"").And.Contain("not received within 1 s"));
        string headersAnswer = await ReadAll(headerStream, TimeSpan.FromSeconds(15));
        Assert.That(headersAnswer, Is.Empty.Or.StartWith("HTTP/1.1 408"), "closed by the server");
        await trickle;
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)));
        await GoodRequestAsync(host, 12, npy: false);
    }

    [Test]
    public async Task AClientThatGoesAwayLeavesTheQueue()
    {
        await using var host = await ServerHost.StartAsync(new ServerOptions { Batching = new BatcherOptions { MaxWait = TimeSpan.FromSeconds(5), MaxBatchTokens = 100_000, MaxBatchSentences = 1000 } });
        string body = ServerHost.Body([["going", "away"]], "\"top\"");
        using (var client = await Connect(host))
        {
            await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes($"POST /v1/embed HTTP/1.1\r\nHost: x\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}"));
            await WaitFor(() => host.Server.Batcher.GetStatistics().QueuedRequests == 1, "the request is queued");
        }
        await WaitFor(() => host.Server.Batcher.GetStatistics() is { QueuedRequests: 0, Cancelled: 1 }, "the request left the queue");
        Assert.That(host.Server.Batcher.GetStatistics().Sentences, Is.Zero, "its sentence never ran");
    }

    private static async Task WaitFor(Func<bool> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(4)) Assert.Fail($"Not seen within 4 s: {what}.");
            await Task.Delay(10);
        }
    }

    private static async Task<TcpClient> Connect(ServerHost host)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, host.Address.Port);
        return client;
    }

    private static async Task<string> ReadAll(NetworkStream stream, TimeSpan limit)
    {
        using var cancel = new CancellationTokenSource(limit);
        var text = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, cancel.Token)) > 0)
            {
                text.Write(buffer, 0, n);
                if (Encoding.ASCII.GetString(text.ToArray()).Contains("}", StringComparison.Ordinal)) break;
            }
        }
        catch (IOException)
        {
            // reset by the server
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"No answer and no close within {limit.TotalSeconds} s.");
        }
        return Encoding.UTF8.GetString(text.ToArray());
    }

    /// <summary>Sends raw bytes and reads the answer as an HTTP response (for requests HttpClient will not send).</summary>
    private static async Task<HttpResponseMessage> Raw(ServerHost host, string request)
    {
        using var client = await Connect(host);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request));
        string answer = await ReadAll(stream, TimeSpan.FromSeconds(15));
        int split = answer.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.That(split, Is.GreaterThan(0), answer);
        var lines = answer[..split].Split("\r\n");
        var response = new HttpResponseMessage((HttpStatusCode)int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture));
        string content = answer[(split + 4)..];
        response.Content = new StringContent(content);
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (line[..colon].Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                response.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(line[(colon + 1)..].Trim());
            }
        }
        return response;
    }
}
