using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Elmo.Core;
using Elmo.Tests.Cli;

namespace Elmo.Tests.Serving;

/// <summary>
/// <c>elmo serve</c> as a user runs it: flags refused before anything is loaded, the start-up line, a request in
/// flight when SIGTERM arrives still answered (then exit 0), and the Python example of docs/server.md reading the
/// .npy answer with numpy. About 10 s in all (two real processes).
/// </summary>
[NonParallelizable]
public class ServeCommandTests
{
    [TestCase("--stateful", "--stateful is not offered by 'elmo serve'")]
    [TestCase("--stateless --warm", "--stateless and --warm exclude each other")]
    [TestCase("--urls ftp://127.0.0.1:1", "--urls: 'ftp://127.0.0.1:1' is not http://HOST:PORT")]
    [TestCase("--urls https://127.0.0.1:8443", "https is not offered")]
    [TestCase("--urls http://127.0.0.1:80/v1", "is not http://HOST:PORT")]
    [TestCase("--max-batch-tokens 0", "--max-batch-tokens must be at least 1, got 0")]
    [TestCase("--max-wait-ms -1", "--max-wait-ms must be between 0 and 10000")]
    [TestCase("--request-timeout 0", "--request-timeout must be above 0")]
    public void BadFlagsAreRefusedWithOneLine(string flags, string message)
    {
        var result = CliHarness.Run(["serve", "--model", "demo", .. flags.Split(' ')]);
        Assert.That(result.Exit, Is.EqualTo(2), result.ToString());
        Assert.That(result.Err, Does.Contain(message));
        Assert.That(result.Err.Trim().Split('\n'), Has.Length.LessThanOrEqualTo(2), "one line (and the usage hint)");
    }

    [Test]
    public void AnApiKeyFileMustHoldAKey()
    {
        using var dir = new TempDir();
        var missing = CliHarness.Run("serve", "--model", "demo", "--api-key-file", dir.File("none.txt"));
        Assert.That((missing.Exit, missing.Err.Trim()), Is.EqualTo((1, $"elmo: --api-key-file: file '{dir.File("none.txt")}' does not exist.")));
        var empty = CliHarness.Run("serve", "--model", "demo", "--api-key-file", dir.Write("empty.txt", " \n"));
        Assert.That(empty.Err, Does.Contain("is empty"));
        var spaced = CliHarness.Run("serve", "--model", "demo", "--api-key-file", dir.Write("spaced.txt", "two words\n"));
        Assert.That(spaced.Err, Does.Contain("white space or control characters"));
    }

    [Test]
    public async Task SigtermDrainsTheRequestInFlightAndExitsZero()
    {
        using var dir = new TempDir();
        // The batch waits 3 s for company, so the request is still queued when SIGTERM arrives.
        using var elmo = ElmoProcess.Start(dir.Path, dir.Path, ["serve", "--model", "demo", "--urls", "http://127.0.0.1:0", "--max-wait-ms", "3000"]);
        elmo.WaitUntil(() => elmo.Error.Contains("elmo serve: listening on "), "the start-up line");
        string line = elmo.Error.Split('\n').Single(l => l.StartsWith("elmo serve: listening on ", StringComparison.Ordinal));
        Assert.That(line, Does.Match(@"^elmo serve: listening on http://127\.0\.0\.1:\d+; model demo .*; warm \(.*\); \d+ thread\(s\) per batch, 1 session\(s\); loaded in \d+\.\d\d s$"));
        var url = new Uri(line["elmo serve: listening on ".Length..line.IndexOf(';', StringComparison.Ordinal)]);

        using var client = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) };
        Assert.That(await client.GetStringAsync("/readyz"), Is.EqualTo("{\"status\":\"ready\"}"));
        var inFlight = client.PostAsync("/v1/embed", new StringContent("{\"sentences\": [[\"Hello\", \"world\"]], \"output\": \"top\"}"));
        var watch = Stopwatch.StartNew();
        while (!elmo.Error.Contains("POST /v1/embed", StringComparison.Ordinal) && !inFlight.IsCompleted && watch.Elapsed < TimeSpan.FromSeconds(2)) await Task.Delay(20);
        await Task.Delay(300); // the request is read and queued
        Assert.That(inFlight.IsCompleted, Is.False, "still waiting for its batch");
        elmo.Signal("TERM");

        using var response = await inFlight;
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the request in flight is answered");
        var got = ServerHost.ParseJson(await response.Content.ReadAsStringAsync());
        var expected = new ElmoEmbedder(ElmoModel.Demo()).EmbedSentence(["Hello", "world"], LayerChoice.Top);
        Assert.That(got[0].Values, Is.EqualTo(expected.ToArray()));
        var (exit, err, _, _) = elmo.Wait(60);
        Assert.That(exit, Is.Zero, err);
        Assert.That(err, Does.Contain("elmo serve: stopped."));
        Assert.That(err, Does.Not.Contain("interrupted"));
        Assert.ThrowsAsync<HttpRequestException>(async () => await new HttpClient().GetAsync(new Uri(url, "/healthz")), "no longer listening");
    }

    [Test]
    public async Task ThePythonExampleOfTheDocsReadsTheNpyAnswerWithNumpy()
    {
        if (!File.Exists("/usr/bin/python3")) Assert.Ignore("/usr/bin/python3 is not installed.");
        var check = ShipProcess("/usr/bin/python3", "-c", "import numpy");
        if (check.ExitCode != 0) Assert.Ignore("numpy is not installed for /usr/bin/python3 (.ci/run installs python3-numpy with python3-h5py).");

        string docs = File.ReadAllText(Path.Combine(Support.Reference.RepoRoot, "docs", "server.md"));
        int start = docs.IndexOf("```python", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), "docs/server.md has a Python example");
        string script = docs[(start + "```python".Length)..docs.IndexOf("```", start + 3, StringComparison.Ordinal)];

        await using var host = await ServerHost.StartAsync();
        using var dir = new TempDir();
        // The example, pointed at this server, then a check: the .npy arrays are exactly the JSON answer's floats.
        string test = script.Replace("http://127.0.0.1:8080", host.Address.ToString().TrimEnd('/'), StringComparison.Ordinal) + """

            as_json = json.loads(urllib.request.urlopen(urllib.request.Request(URL + "/v1/embed", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})).read())
            assert len(arrays) == len(as_json["embeddings"]) == len(body["sentences"])
            for a, e, shape in zip(arrays, as_json["embeddings"], as_json["shapes"]):
                assert a.dtype == numpy.float32 and list(a.shape) == shape, (a.dtype, a.shape, shape)
                assert numpy.array_equal(a.view(numpy.int32), numpy.array(e, dtype=numpy.float32).view(numpy.int32))
            print("npy == json, bit for bit")
            """;
        string path = dir.Write("example.py", test);
        var run = ShipProcess("/usr/bin/python3", path);
        Assert.That(run.ExitCode, Is.Zero, run.Output);
        Assert.That(run.Output, Does.Contain("npy == json, bit for bit"));
    }

    private static (int ExitCode, string Output) ShipProcess(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{file} did not finish in 60 s.");
        }
        return (p.ExitCode, output + err.Result);
    }
}
