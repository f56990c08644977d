using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Elmo.Core;
using Elmo.Server;
using Microsoft.Extensions.Logging;

namespace Elmo.Tests.Serving;

/// <summary>
/// An <see cref="ElmoServer"/> over the demo model on a free loopback port, its log lines captured, and an
/// <see cref="HttpClient"/> for it. Disposing stops the server.
/// </summary>
internal sealed class ServerHost : IAsyncDisposable
{
    private ServerHost(ElmoServer server, List<string> log)
    {
        Server = server;
        Log = log;
        Address = new Uri(server.Addresses.Single(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal)));
        Client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public static ElmoModel Model { get; } = ElmoModel.Demo();

    public ElmoServer Server { get; }

    public Uri Address { get; }

    public HttpClient Client { get; }

    /// <summary>The log lines so far.</summary>
    public List<string> Log { get; }

    public static async Task<ServerHost> StartAsync(ServerOptions? options = null, StateMode mode = StateMode.Warm)
    {
        options = (options ?? new ServerOptions()) with { Urls = ["http://127.0.0.1:0"] };
        var log = new List<string>();
        var model = new ServingModel(new ElmoEmbedder(Model, mode), "demo", mode == StateMode.Warm ? "warm (built-in)" : "stateless", TimeSpan.FromSeconds(0.5), "9.9.9-test");
        var server = new ElmoServer(model, options, logging =>
        {
            logging.AddProvider(new ListLoggerProvider(log));
            logging.SetMinimumLevel(LogLevel.Warning);
            logging.AddFilter("Elmo", LogLevel.Information);
        });
        await server.StartAsync();
        return new ServerHost(server, log);
    }

    /// <summary>POSTs a JSON body to /v1/embed.</summary>
    public Task<HttpResponseMessage> EmbedAsync(string json, string? accept = null, CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/embed") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (accept is not null) request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        return Client.SendAsync(request, cancellationToken);
    }

    public static string Body(IEnumerable<IReadOnlyList<string>> sentences, string output = "\"all\"") =>
        $"{{\"sentences\": {JsonSerializer.Serialize(sentences.Select(s => s.ToArray()).ToArray())}, \"output\": {output}}}";

    /// <summary>The embeddings of a JSON answer, each as float32 values (parsed as float32) and its shape.</summary>
    public static List<(float[] Values, int[] Shape)> ParseJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var shapes = doc.RootElement.GetProperty("shapes").EnumerateArray().Select(s => s.EnumerateArray().Select(d => d.GetInt32()).ToArray()).ToList();
        var result = new List<(float[], int[])>();
        int i = 0;
        foreach (var e in doc.RootElement.GetProperty("embeddings").EnumerateArray())
        {
            var values = new List<float>();
            Flatten(e, values);
            result.Add((values.ToArray(), shapes[i++]));
        }
        return result;

        static void Flatten(JsonElement e, List<float> values)
        {
            if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (var x in e.EnumerateArray()) Flatten(x, values);
            }
            else
            {
                values.Add(float.Parse(e.GetRawText(), System.Globalization.CultureInfo.InvariantCulture));
            }
        }
    }

    /// <summary>The arrays of a .npy answer: concatenated version-1.0 '&lt;f4' arrays.</summary>
    public static List<(float[] Values, int[] Shape)> ParseNpy(byte[] body)
    {
        var result = new List<(float[], int[])>();
        int at = 0;
        while (at < body.Length)
        {
            Assert.That(body.AsSpan(at, 8).ToArray(), Is.EqualTo(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }), $"magic at {at}");
            int headerLength = BitConverter.ToUInt16(body, at + 8);
            Assert.That((10 + headerLength) % 64, Is.Zero, "header padded to 64 bytes");
            string header = Encoding.ASCII.GetString(body, at + 10, headerLength);
            Assert.That(header, Does.StartWith("{'descr': '<f4', 'fortran_order': False, 'shape': ("));
            Assert.That(header, Does.EndWith("\n"));
            string dims = header[(header.IndexOf("'shape': (", StringComparison.Ordinal) + 10)..header.IndexOf(')', StringComparison.Ordinal)];
            int[] shape = dims.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
            int count = shape.Aggregate(1, (a, n) => a * n);
            at += 10 + headerLength;
            var values = new float[count];
            Buffer.BlockCopy(body, at, values, 0, 4 * count);
            at += 4 * count;
            result.Add((values, shape));
        }
        return result;
    }

    /// <summary>A problem body's status, field and detail, after checking its media type.</summary>
    public static async Task<(int Status, string? Field, string Detail)> ProblemAsync(HttpResponseMessage response)
    {
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), await response.Content.ReadAsStringAsync());
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = doc.RootElement;
        Assert.That(root.GetProperty("status").GetInt32(), Is.EqualTo((int)response.StatusCode));
        Assert.That(root.GetProperty("title").GetString(), Is.Not.Empty);
        Assert.That(root.GetProperty("type").GetString(), Is.EqualTo("about:blank"));
        return ((int)response.StatusCode, root.TryGetProperty("field", out var f) ? f.GetString() : null, root.GetProperty("detail").GetString()!);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }

    private sealed class ListLoggerProvider(List<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(lines);

        public void Dispose()
        {
        }
    }

    private sealed class ListLogger(List<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (lines) lines.Add($"{logLevel}: {formatter(state, exception)}");
        }
    }
}
