using Elmo.Tests.Cli;
using Elmo.Tests.Support;

namespace Elmo.Tests.Shipping;

/// <summary>
/// The CLI published as a Native AOT binary and as a trimmed self-contained app, with the commands the README gives:
/// the publish succeeds with warnings as errors (so no trim/AOT warning from our code), and every command of the
/// published program writes the same bytes as the JIT build (run in process) on the bilm-tf fixture and on random
/// models. The AOT toolchain (clang, zlib) is installed by .ci/run; without it the AOT fixture is skipped.
/// </summary>
[TestFixture("aot")]
[TestFixture("trimmed")]
[Category(ShipChecks.Category)]
public class PublishedBinaryTests(string kind)
{
    private string _root = "";
    private string _binary = "";
    private string _cache = "";

    /// <summary>The publish command of the README (for the AOT binary) or of docs/cli.md (trimmed), with an output folder.</summary>
    internal static string[] PublishArguments(string kind, string output) => kind == "aot"
        ? ["publish", "Elmo.Cli", "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-o", output]
        : ["publish", "Elmo.Cli", "-c", "Release", "-r", "linux-x64", "--self-contained", "-p:PublishTrimmed=true", "-o", output];

    [OneTimeSetUp]
    public void Publish()
    {
        ShipChecks.Require();
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.OSArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            Assert.Ignore("The publish checks build for linux-x64 and run on linux-x64 machines only.");
        }
        if (kind == "aot" && ShipChecks.MissingAotToolchain() is string missing)
        {
            Assert.Ignore($"Native AOT needs {missing} (apt-get install clang zlib1g-dev; .ci/run installs them).");
        }
        _root = Directory.CreateTempSubdirectory($"elmo-publish-{kind}-").FullName;
        _cache = Path.Combine(_root, "cache");
        string output = Path.Combine(_root, "bin");
        var result = ShipChecks.RunOk(ShipChecks.Dotnet, PublishArguments(kind, output), Reference.RepoRoot, timeout: TimeSpan.FromMinutes(15));
        Assert.That(result.Out + result.Err, Does.Not.Contain("warning"), $"the publish printed warnings\n{result}");
        _binary = Path.Combine(output, "elmo");
        Assert.That(File.Exists(_binary), Is.True, $"no binary at {_binary}\n{result}");
        if (kind == "aot") Assert.That(File.Exists(Path.Combine(output, "elmo.dll")), Is.False, "a native binary, not a managed app");
    }

    [OneTimeTearDown]
    public void Remove()
    {
        if (_root.Length > 0) Directory.Delete(_root, recursive: true);
    }

    /// <summary>Runs the published binary with its own cache directory.</summary>
    private ProcessResult Published(string? stdin, params string[] args) =>
        ShipChecks.Run(_binary, args, _root, new Dictionary<string, string?> { ["ELMO_CACHE"] = _cache }, TimeSpan.FromMinutes(5), stdin);

    /// <summary>
    /// Runs <paramref name="args"/> (with <c>{out}</c> standing for the output file) through the published binary and
    /// through the JIT build in process, and asserts the same exit code and the same output bytes.
    /// </summary>
    private void SameAsJit(string name, string? stdin, params string[] args)
    {
        string published = Path.Combine(_root, $"{name}.published.hdf5"), jit = Path.Combine(_root, $"{name}.jit.hdf5");
        var p = Published(stdin, args.Select(a => a == "{out}" ? published : a).ToArray());
        var j = stdin is null ? CliHarness.Run(args.Select(a => a == "{out}" ? jit : a).ToArray())
            : CliHarness.RunWithStdin(stdin, args.Select(a => a == "{out}" ? jit : a).ToArray());
        Assert.That(p.Exit, Is.EqualTo(j.Exit), $"{name}: exit codes\npublished: {p}\njit: {j}");
        Assert.That(p.Exit, Is.Zero, $"{name}\n{p}");
        Assert.That(p.Err, Does.Not.Contain("internal error").And.Not.Contain("damaged"), p.ToString());
        Assert.That(File.ReadAllBytes(published), Is.EqualTo(File.ReadAllBytes(jit)), $"{name}: the {kind} output differs from the JIT build's");
    }

    private string Sentences()
    {
        string path = Path.Combine(_root, "sentences.txt");
        File.WriteAllLines(path, Reference.Sentences().Select(s => string.Join(' ', s)));
        return path;
    }

    [TestCase("--all")]
    [TestCase("--top")]
    [TestCase("--average")]
    [TestCase("--mix", "0,1,2", "--gamma", "0.5", "--layer-norm")]
    public void EmbedLayoutsOnTheFixture(params string[] layout)
    {
        string input = Sentences();
        foreach (string mode in new[] { "--stateless", "--stateful", "--warm" })
        {
            SameAsJit($"fixture{layout[0]}{mode}", null, ["embed", input, "{out}", .. layout, mode, "--quiet", .. CliHarness.FixtureModel]);
        }
    }

    [Test]
    public void EmbedWarmUpWarmStateStdinAndJsonLines()
    {
        string input = Sentences();
        string warmUp = Path.Combine(_root, "warm-up.txt");
        File.WriteAllLines(warmUp, Reference.Sentences().Take(4).Select(s => string.Join(' ', s)));
        SameAsJit("warm-up", null, ["embed", input, "{out}", "--top", "--warm-up", warmUp, "--quiet", .. CliHarness.FixtureModel]);

        SameAsJit("warm-state", null, ["warm-state", "{out}", .. CliHarness.FixtureModel]);
        string state = Path.Combine(_root, "warm-state.jit.hdf5");
        SameAsJit("with-warm-state", null, ["embed", input, "{out}", "--all", "--warm-state", state, "--quiet", .. CliHarness.FixtureModel]);

        string text = string.Join('\n', Reference.Sentences().Take(8).Select(s => string.Join(' ', s))) + "\n";
        SameAsJit("stdin", text, ["embed", "-", "{out}", "--average", "--batch-size", "3", "--quiet", .. CliHarness.FixtureModel]);

        string jsonl = Path.Combine(_root, "sentences.jsonl");
        File.WriteAllLines(jsonl, Reference.Sentences().Take(5).Select(s => System.Text.Json.JsonSerializer.Serialize(s)));
        SameAsJit("jsonl", null, ["embed", jsonl, "{out}", "--all", "--forget-sentences", "--quiet", .. CliHarness.FixtureModel]);
    }

    [Test]
    public void RandomModelsMadeAndEmbedded()
    {
        foreach (string preset in new[] { "tiny", "demo" })
        {
            string made = Path.Combine(_root, $"made-{preset}"), jit = Path.Combine(_root, $"made-{preset}-jit");
            Assert.That(Published(null, "make-model", "--preset", preset, "--seed", "5", made).Exit, Is.Zero);
            Assert.That(CliHarness.Run("make-model", "--preset", preset, "--seed", "5", jit).Exit, Is.Zero);
            foreach (string file in new[] { "options.json", "weights.hdf5" })
            {
                Assert.That(File.ReadAllBytes(Path.Combine(made, file)), Is.EqualTo(File.ReadAllBytes(Path.Combine(jit, file))), $"make-model {preset}: {file}");
            }
            SameAsJit($"random-{preset}", null, ["embed", Sentences(), "{out}", "--all", "--quiet",
                "--options", Path.Combine(jit, "options.json"), "--weights", Path.Combine(jit, "weights.hdf5")]);
        }
        SameAsJit("built-in-demo", null, ["embed", Path.Combine(Reference.RepoRoot, "docs", "examples", "sentences.txt"), "{out}", "--model", "demo", "--all", "--quiet"]);
    }

    [Test]
    public void DumpTokenEmbeddingsCompareInfoAndBench()
    {
        string vocabulary = Reference.File_("bilm-tf-fixture/vocab_test.txt");
        SameAsJit("dump", null, ["dump-token-embeddings", vocabulary, "{out}", .. CliHarness.FixtureModel]);

        string expected = Reference.File_("bilm-tf-fixture/elmo_token_embeddings.hdf5");
        var compare = Published(null, "compare", Path.Combine(_root, "dump.published.hdf5"), expected);
        Assert.That(compare.Exit, Is.Zero, compare.ToString());
        Assert.That(compare.Out, Does.Contain("MATCH"));
        // A file with sentence_to_index (a string dataset) against another with different values.
        SameAsJit("for-compare", null, ["embed", Sentences(), "{out}", "--all", "--quiet", .. CliHarness.FixtureModel]);
        var differs = Published(null, "compare", Path.Combine(_root, "for-compare.published.hdf5"), Path.Combine(_root, "fixture--all--stateless.jit.hdf5"));
        var differsJit = CliHarness.Run("compare", Path.Combine(_root, "for-compare.published.hdf5"), Path.Combine(_root, "fixture--all--stateless.jit.hdf5"));
        Assert.That((differs.Exit, differs.Out), Is.EqualTo((differsJit.Exit, differsJit.Out)), $"compare\n{differs}\n{differsJit}");

        var info = Published(null, ["info", .. CliHarness.FixtureModel]);
        Assert.That(info.Exit, Is.Zero, info.ToString());
        Assert.That(info.Out, Does.Contain("OK: all 33 datasets present"));

        var bench = Published(null, "bench", "--preset", "tiny", "--corpus", Sentences(), "--repetitions", "1");
        Assert.That(bench.Exit, Is.Zero, bench.ToString());
        Assert.That(bench.Out, Does.Contain("median"));
    }

    /// <summary>
    /// <c>elmo serve</c> of the published binary (Kestrel, minimal APIs and source-generated JSON under Native AOT or
    /// trimming) answers over loopback with the very bytes the JIT build's server answers, in JSON and as .npy, and
    /// drains on SIGTERM.
    /// </summary>
    [Test]
    public async Task ServeAnswersWithTheJitServersBytes()
    {
        using var published = ElmoProcess.StartBinary(_binary, _root, _root, "serve", "--model", "demo", "--urls", "http://127.0.0.1:0");
        published.WaitUntil(() => published.Error.Contains("elmo serve: listening on ", StringComparison.Ordinal), "the start-up line", seconds: 120);
        string line = published.Error.Split('\n').Single(l => l.StartsWith("elmo serve: listening on ", StringComparison.Ordinal));
        var url = new Uri(line["elmo serve: listening on ".Length..line.IndexOf(';', StringComparison.Ordinal)]);
        using var client = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) };
        await using var jit = await Serving.ServerHost.StartAsync();

        string body = Serving.ServerHost.Body(Reference.Sentences().Take(3), "\"top\"");
        foreach (string? accept in new[] { null, "application/x-npy" })
        {
            async Task<(System.Net.HttpStatusCode, string?, byte[])> Ask(HttpClient to)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/embed") { Content = new StringContent(body) };
                if (accept is not null) request.Headers.Accept.ParseAdd(accept);
                using var response = await to.SendAsync(request);
                return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsByteArrayAsync());
            }
            var (status, type, bytes) = await Ask(client);
            var (jitStatus, jitType, jitBytes) = await Ask(jit.Client);
            Assert.That((status, type), Is.EqualTo((jitStatus, jitType)), $"{accept ?? "JSON"}: {System.Text.Encoding.UTF8.GetString(bytes.AsSpan(0, Math.Min(400, bytes.Length)))}\n{published.Error}");
            Assert.That(status, Is.EqualTo(System.Net.HttpStatusCode.OK));
            Assert.That(bytes, Is.EqualTo(jitBytes), $"{accept ?? "JSON"}: the {kind} server's answer differs from the JIT server's");
        }
        var bad = await client.PostAsync("/v1/embed", new StringContent("{\"sentences\": [[\"a\", 1]]}"));
        Assert.That((int)bad.StatusCode, Is.EqualTo(400));
        Assert.That(await bad.Content.ReadAsStringAsync(), Does.Contain("\"field\":\"sentences[0][1]\""));
        Assert.That(await client.GetStringAsync("/metrics"), Does.Contain("elmo_requests_total"));
        Assert.That(await client.GetStringAsync("/openapi.json"), Does.Contain("\"/v1/embed\""));

        published.Signal("TERM");
        var (exit, err, _, _) = published.Wait(60);
        Assert.That(exit, Is.Zero, err);
        Assert.That(err, Does.Contain("elmo serve: stopped."));
    }

    [Test]
    public void BadFilesGiveTheSameOneLineErrors()
    {
        string notHdf5 = Path.Combine(_root, "not.hdf5");
        File.WriteAllText(notHdf5, "not an hdf5 file\n");
        string input = Sentences();
        foreach (var args in new[]
        {
            new[] { "embed", input, Path.Combine(_root, "x.hdf5"), "--all", "--options", Reference.FixtureOptions, "--weights", notHdf5 },
            ["compare", notHdf5, Reference.FixtureWeights],
            ["info", "--options", Reference.FixtureOptions, "--weights", Path.Combine(_root, "missing.hdf5")],
        })
        {
            var p = Published(null, args);
            var j = CliHarness.Run(args);
            Assert.That((p.Exit, p.Err.Trim()), Is.EqualTo((j.Exit, j.Err.Trim())), $"{string.Join(' ', args)}\npublished: {p}\njit: {j}");
            Assert.That(p.Err, Does.Not.Contain("internal error").And.Not.Contain("MakeGenericMethod"));
        }
    }
}
