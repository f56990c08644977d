using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Elmo.Core;
using Elmo.Server;
using Elmo.Tests.Cli;

namespace Elmo.Tests.Serving;

/// <summary>
/// The endpoints of <see cref="ElmoServer"/> over real HTTP on loopback (demo model, a free port): vectors bitwise those
/// of <c>elmo embed</c> in JSON and in .npy, exact float round trips, the model, probes, metrics, OpenAPI, the API key
/// and problem bodies for unknown routes. About 5 s in all.
/// </summary>
[NonParallelizable]
public class ServerEndpointTests
{
    private static readonly string[][] Sentences = [["Hello", "world", "."], ["The", "cat", "sat", "on", "the", "mat", "."], ["Ünïcødé", "😀"], ["x"]];

    private static bool SameBits(ReadOnlySpan<float> a, ReadOnlySpan<float> b) =>
        MemoryMarshal.Cast<float, int>(a).SequenceEqual(MemoryMarshal.Cast<float, int>(b));

    [TestCase("\"all\"", "--all")]
    [TestCase("\"top\"", "--top")]
    [TestCase("\"average\"", "--average")]
    [TestCase("{\"mix\": [0.5, -1, 2], \"gamma\": 0.75}", "--mix 0.5,-1,2 --gamma 0.75")]
    public async Task JsonAndNpyAnswersAreBitwiseThoseOfElmoEmbed(string output, string flags)
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", string.Join("\n", Sentences.Select(s => string.Join(' ', s))) + "\n");
        var cli = CliHarness.Run(["embed", input, dir.File("out.hdf5"), .. flags.Split(' '), "--quiet", "--model", "demo"]);
        Assert.That(cli.Exit, Is.Zero, cli.ToString());

        await using var host = await ServerHost.StartAsync();
        using var json = await host.EmbedAsync(ServerHost.Body(Sentences, output));
        Assert.That(json.StatusCode, Is.EqualTo(HttpStatusCode.OK), await json.Content.ReadAsStringAsync());
        Assert.That(json.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        var fromJson = ServerHost.ParseJson(await json.Content.ReadAsStringAsync());

        using var npy = await host.EmbedAsync(ServerHost.Body(Sentences, output), accept: "application/x-npy");
        Assert.That(npy.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(npy.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/x-npy"));
        byte[] npyBytes = await npy.Content.ReadAsByteArrayAsync();
        Assert.That(npy.Content.Headers.ContentLength, Is.EqualTo(npyBytes.Length));
        var fromNpy = ServerHost.ParseNpy(npyBytes);

        // texts: the same sentences as raw text, split as a .txt line is.
        using var texts = await host.EmbedAsync($"{{\"texts\": {JsonSerializer.Serialize(Sentences.Select(s => "  " + string.Join(" \t ", s) + " ").ToArray())}, \"output\": {output}}}");
        var fromTexts = ServerHost.ParseJson(await texts.Content.ReadAsStringAsync());

        Assert.That(fromJson, Has.Count.EqualTo(Sentences.Length));
        Assert.That(fromNpy, Has.Count.EqualTo(Sentences.Length));
        for (int i = 0; i < Sentences.Length; i++)
        {
            var (data, shape) = CliHarness.Read(dir.File("out.hdf5"), i.ToString(CultureInfo.InvariantCulture));
            Assert.That(fromJson[i].Shape, Is.EqualTo(shape), $"sentence {i}: JSON shape");
            Assert.That(fromNpy[i].Shape, Is.EqualTo(shape), $"sentence {i}: .npy shape");
            Assert.That(SameBits(fromJson[i].Values, data), Is.True, $"sentence {i}: JSON values are elmo embed's, bit for bit");
            Assert.That(SameBits(fromNpy[i].Values, data), Is.True, $"sentence {i}: .npy values are elmo embed's, bit for bit");
            Assert.That(SameBits(fromTexts[i].Values, data), Is.True, $"sentence {i}: texts");
        }
    }

    [Test]
    public void JsonFloatsRoundTripToTheSameFloat32()
    {
        // Every kind of float32: random bit patterns over the whole finite range, subnormals, extremes, signed zeros.
        var random = new Random(7);
        var values = new List<float> { 0f, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, 1f / 3, 16777217f, 1e-38f, 1.17549435e-38f, 0.1f, 3.4028235e38f };
        while (values.Count < 50_000)
        {
            float v = BitConverter.Int32BitsToSingle(random.Next() ^ (random.Next(2) << 31));
            if (float.IsFinite(v)) values.Add(v);
        }
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (float v in values) writer.WriteNumberValue(v);
            writer.WriteEndArray();
        }
        using var doc = JsonDocument.Parse(buffer.WrittenMemory);
        int i = 0;
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            string text = e.GetRawText();
            float expected = values[i++];
            float asSingle = float.Parse(text, CultureInfo.InvariantCulture);
            float viaDouble = (float)double.Parse(text, CultureInfo.InvariantCulture); // Python: numpy.float32(json.loads(text))
            Assert.That(BitConverter.SingleToInt32Bits(asSingle), Is.EqualTo(BitConverter.SingleToInt32Bits(expected)), $"{text} parsed as float32");
            Assert.That(BitConverter.SingleToInt32Bits(viaDouble), Is.EqualTo(BitConverter.SingleToInt32Bits(expected)), $"{text} parsed as a double, then rounded to float32");
            Assert.That(text.Length, Is.LessThanOrEqualTo(expected.ToString("R", CultureInfo.InvariantCulture).Length + 1), $"{text}: shortest form");
        }
    }

    [Test]
    public async Task TheModelProbesMetricsAndOpenApiAnswer()
    {
        await using var host = await ServerHost.StartAsync();
        var c = host.Client;

        using var model = JsonDocument.Parse(await c.GetStringAsync("/v1/model"));
        var m = model.RootElement;
        Assert.That(m.GetProperty("state_mode").GetString(), Is.EqualTo("warm"));
        Assert.That(m.GetProperty("warm_state_fingerprint").GetString(), Does.Match("^[0-9a-f]{16}$"));
        Assert.That(m.GetProperty("version").GetString(), Is.EqualTo("9.9.9-test"));
        Assert.That(m.GetProperty("output_layers").GetInt32(), Is.EqualTo(3));
        Assert.That(m.GetProperty("output_dim").GetInt32(), Is.EqualTo(ServerHost.Model.Options.OutputDim));
        Assert.That(m.GetProperty("architecture").GetProperty("lstm").GetProperty("projection_dim").GetInt32(), Is.EqualTo(ServerHost.Model.Options.Lstm.ProjectionDim));
        Assert.That(m.GetProperty("limits").GetProperty("max_body_bytes").GetInt32(), Is.EqualTo(new RequestLimits().MaxBodyBytes));
        Assert.That(m.GetProperty("batching").GetProperty("max_batch_tokens").GetInt32(), Is.EqualTo(BatcherOptions.DefaultMaxBatchTokens));

        Assert.That(await c.GetStringAsync("/healthz"), Is.EqualTo("{\"status\":\"alive\"}"));
        Assert.That(await c.GetStringAsync("/readyz"), Is.EqualTo("{\"status\":\"ready\"}"));

        using (var ok = await host.EmbedAsync(ServerHost.Body(Sentences, "\"top\""))) Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using (var bad = await host.EmbedAsync("{\"sentences\": 3}")) Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        using var metrics = await c.GetAsync("/metrics");
        Assert.That(metrics.Content.Headers.ContentType?.ToString(), Does.StartWith("text/plain; version=0.0.4"));
        string text = await metrics.Content.ReadAsStringAsync();
        foreach (string line in new[]
        {
            "elmo_requests_total{path=\"/v1/embed\",status=\"200\"} 1",
            "elmo_requests_total{path=\"/v1/embed\",status=\"400\"} 1",
            "elmo_rejected_requests_total{reason=\"invalid\"} 1",
            "elmo_request_duration_seconds_count 1",
            "elmo_sentences_total 4",
            "elmo_tokens_total 13",
            "elmo_queue_requests 0",
            "# TYPE elmo_batch_sentences histogram",
            "# TYPE elmo_tokens_per_second gauge",
        })
        {
            Assert.That(text, Does.Contain(line + "\n"), line);
        }
        Assert.That(text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).All(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$")), Is.True, "every sample line is NAME{LABELS} VALUE");

        using var openApi = JsonDocument.Parse(await c.GetStringAsync("/openapi.json"));
        Assert.That(openApi.RootElement.GetProperty("openapi").GetString(), Is.EqualTo("3.1.0"));
        Assert.That(openApi.RootElement.GetProperty("info").GetProperty("version").GetString(), Is.EqualTo("9.9.9-test"));
        Assert.That(openApi.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name),
            Is.EquivalentTo(new[] { "/v1/embed", "/v1/model", "/healthz", "/readyz", "/metrics", "/openapi.json" }));
        Assert.That(ServerMetrics.Paths, Is.EquivalentTo(openApi.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name)), "metrics count the documented paths");
    }

    [Test]
    public async Task UnknownRoutesAndMethodsGetProblemBodies()
    {
        await using var host = await ServerHost.StartAsync();
        using var missing = await host.Client.GetAsync("/v2/embed");
        var (status, _, detail) = await ServerHost.ProblemAsync(missing);
        Assert.That((status, detail), Is.EqualTo((404, "No such endpoint: /v2/embed. See /openapi.json.")));
        using var method = await host.Client.GetAsync("/v1/embed");
        (status, _, detail) = await ServerHost.ProblemAsync(method);
        Assert.That(status, Is.EqualTo(405));
        Assert.That(detail, Does.Contain("GET is not allowed on /v1/embed"));
        using var accept = await host.EmbedAsync(ServerHost.Body(Sentences), accept: "text/html");
        var (s, field, _) = await ServerHost.ProblemAsync(accept);
        Assert.That((s, field), Is.EqualTo((406, "Accept")));
        using var wildcard = await host.EmbedAsync(ServerHost.Body(Sentences, "\"top\""), accept: "*/*");
        Assert.That(wildcard.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
    }

    [Test]
    public async Task AnApiKeyIsRequiredWhenConfiguredExceptByTheProbes()
    {
        await using var host = await ServerHost.StartAsync(new ServerOptions { ApiKey = "s3cret-key" });
        using var none = await host.EmbedAsync(ServerHost.Body(Sentences));
        var (status, field, _) = await ServerHost.ProblemAsync(none);
        Assert.That((status, field), Is.EqualTo((401, "Authorization")));
        Assert.That(none.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"));
        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/v1/model");
        wrong.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "s3cret-kez");
        Assert.That((await host.Client.SendAsync(wrong)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((await host.Client.GetAsync("/metrics")).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));

        using var bearer = new HttpRequestMessage(HttpMethod.Post, "/v1/embed") { Content = new StringContent(ServerHost.Body(Sentences, "\"top\"")) };
        bearer.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "s3cret-key");
        Assert.That((await host.Client.SendAsync(bearer)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using var header = new HttpRequestMessage(HttpMethod.Get, "/v1/model");
        header.Headers.Add("X-API-Key", "s3cret-key");
        Assert.That((await host.Client.SendAsync(header)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await host.Client.GetAsync("/healthz")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await host.Client.GetAsync("/readyz")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task EveryRequestIsLoggedWithoutItsBody()
    {
        await using var host = await ServerHost.StartAsync();
        using (var ok = await host.EmbedAsync(ServerHost.Body([["secret", "words"]], "\"top\""))) Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using (var bad = await host.EmbedAsync("{\"sentences\": [[\"private\", 1]]}")) Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        string[] log;
        lock (host.Log) log = [.. host.Log];
        Assert.That(log.Any(l => l.StartsWith("Information: POST /v1/embed 200 ", StringComparison.Ordinal) && l.Contains("1 sentences, 2 tokens, 127.0.0.1")), Is.True, string.Join("\n", log));
        Assert.That(log.Any(l => l.StartsWith("Warning: POST /v1/embed 400 ", StringComparison.Ordinal) && l.Contains("sentences[0][1]: expected a string")), Is.True, string.Join("\n", log));
        Assert.That(log.Any(l => l.Contains("secret", StringComparison.Ordinal) || l.Contains("private", StringComparison.Ordinal)), Is.False, "no request body in the log");
    }

    [Test]
    public async Task StatelessServersAnswerStatelessVectors()
    {
        await using var host = await ServerHost.StartAsync(mode: StateMode.Stateless);
        using var response = await host.EmbedAsync(ServerHost.Body(Sentences, "\"average\""), accept: "application/x-npy");
        var got = ServerHost.ParseNpy(await response.Content.ReadAsByteArrayAsync());
        var expected = new ElmoEmbedder(ServerHost.Model, StateMode.Stateless).EmbedBatch(Sentences, LayerChoice.Average);
        for (int i = 0; i < Sentences.Length; i++) Assert.That(SameBits(got[i].Values, expected[i].Values), Is.True, $"sentence {i}");
        using var model = JsonDocument.Parse(await host.Client.GetStringAsync("/v1/model"));
        Assert.That(model.RootElement.GetProperty("state_mode").GetString(), Is.EqualTo("stateless"));
        Assert.That(model.RootElement.GetProperty("warm_state_fingerprint").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    [Test]
    public void OnlyFiniteAnswersAreWritten()
    {
        // The demo model's values are far too small for any float32 gamma to overflow, so the check itself is tested.
        var finite = new SentenceEmbedding(0, ["a"], [1f, -2f], 1, 1, 2, hasLayerAxis: false);
        var infinite = new SentenceEmbedding(1, ["b"], [1f, float.PositiveInfinity], 1, 1, 2, hasLayerAxis: false);
        Assert.That(EmbedResponseWriter.AllFinite([finite]), Is.True);
        Assert.That(EmbedResponseWriter.AllFinite([finite, infinite]), Is.False);
        Assert.That(NpyWriter.Write([1, 2], finite.Values).Length, Is.EqualTo(128 + 8), "a 128-byte header, then 2 floats");
    }
}
