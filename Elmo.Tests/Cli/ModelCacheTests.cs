using System.Security.Cryptography;
using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Cli;

/// <summary>The model download cache against a loopback HTTP server: success, interruption, resume, restart, checksums.</summary>
public class ModelCacheTests
{
    private static byte[] Content(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static ModelCache Cache(TempDir dir) => new(dir.File("cache")) { RetryDelay = TimeSpan.Zero, StallTimeout = TimeSpan.FromSeconds(20) };

    [Test]
    public void DownloadsOnceVerifiesRecordsTheHashAndThenServesFromTheCache()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer();
        var content = Content(300_000, 1);
        server.Files["/m/elmo_weights.hdf5"] = content;
        var cache = Cache(dir);
        var seen = new List<DownloadProgress>();

        string path = cache.Fetch(server.Url("/m/elmo_weights.hdf5"), progress: seen.Add);
        string again = cache.Fetch(server.Url("/m/elmo_weights.hdf5"));

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(content));
        Assert.That(Path.GetFileName(path), Is.EqualTo("elmo_weights.hdf5"));
        Assert.That(path, Does.StartWith(cache.Directory));
        Assert.That(again, Is.EqualTo(path));
        Assert.That(server.Requests, Has.Count.EqualTo(1), "the second call is served from the cache");
        Assert.That(ModelCache.RecordedSha256(path), Is.EqualTo(Sha(content)));
        Assert.That(File.ReadAllText(path + ".sha256"), Is.EqualTo($"{Sha(content)}  elmo_weights.hdf5\n"), "sha256sum format");
        Assert.That(File.Exists(path + ".partial"), Is.False);
        Assert.That(seen.Last().Bytes, Is.EqualTo(content.Length));
        Assert.That(seen.Last().TotalBytes, Is.EqualTo(content.Length));
    }

    [Test]
    public void AnInterruptedDownloadResumesWithARangeRequest()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer { CutAfter = n => n == 1 ? 120_000 : null };
        var content = Content(300_000, 2);
        server.Files["/w.hdf5"] = content;

        string path = Cache(dir).Fetch(server.Url("/w.hdf5"), Sha(content));

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(content));
        Assert.That(server.Requests.Select(r => r.Range), Is.EqualTo(new[] { null, "bytes=120000-" }));
    }

    [Test]
    public void AServerThatIgnoresRangesMakesTheDownloadRestartCleanly()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer { SupportRange = false, CutAfter = n => n == 1 ? 100_000 : null };
        var content = Content(250_000, 3);
        server.Files["/w.hdf5"] = content;

        string path = Cache(dir).Fetch(server.Url("/w.hdf5"));

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(content), "restarted from byte 0, not appended");
        Assert.That(server.Requests, Has.Count.EqualTo(2));
        Assert.That(server.Requests[1].Range, Is.EqualTo("bytes=100000-"));
    }

    [Test]
    public void RepeatedInterruptionsFailKeepTheFilePartialAndTheNextRunResumes()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer { CutAfter = _ => 50_000 };
        var content = Content(200_000, 4);
        server.Files["/w.hdf5"] = content;
        var cache = new ModelCache(dir.File("cache")) { RetryDelay = TimeSpan.Zero, MaxAttempts = 2 };
        var url = server.Url("/w.hdf5");
        string final = cache.PathFor(url);

        var e = Assert.Throws<ElmoDownloadException>(() => cache.Fetch(url))!;

        Assert.That(e.Message, Does.Contain("interrupted 2 times").And.Contain("100000 of 200000 bytes are kept").And.Contain("resumes"));
        Assert.That(File.Exists(final), Is.False, "nothing under the final name");
        Assert.That(new FileInfo(final + ".partial").Length, Is.EqualTo(100_000));

        server.CutAfter = _ => null;
        string path = cache.Fetch(url);
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(content));
        Assert.That(server.Requests.Last().Range, Is.EqualTo("bytes=100000-"));
    }

    [Test]
    public void AChecksumMismatchDeletesTheDownload()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer();
        var content = Content(100_000, 5);
        server.Files["/w.hdf5"] = content;
        var cache = Cache(dir);
        var url = server.Url("/w.hdf5");
        string wrong = Sha(Content(10, 6));

        var e = Assert.Throws<ElmoDownloadException>(() => cache.Fetch(url, wrong))!;

        Assert.That(e.Message, Does.Contain("Checksum mismatch").And.Contain(wrong).And.Contain(Sha(content)));
        Assert.That(File.Exists(cache.PathFor(url)), Is.False);
        Assert.That(File.Exists(cache.PathFor(url) + ".partial"), Is.False);
        Assert.That(File.ReadAllBytes(cache.Fetch(url, Sha(content).ToUpperInvariant())), Is.EqualTo(content), "the right hash (any case) passes");
    }

    [Test]
    public void ACachedFileRecordedWithAnotherHashIsDownloadedAgainWhenAHashIsPinned()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer();
        var url = server.Url("/w.hdf5");
        var cache = Cache(dir);
        server.Files["/w.hdf5"] = Content(1000, 7);
        cache.Fetch(url);
        var updated = Content(2000, 8);
        server.Files["/w.hdf5"] = updated;

        Assert.That(File.ReadAllBytes(cache.Fetch(url, Sha(updated))), Is.EqualTo(updated));
        Assert.That(server.Requests, Has.Count.EqualTo(2));
    }

    [Test]
    public void HttpErrorsAreReportedWithTheUrl()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer();
        var url = server.Url("/missing.hdf5");
        var e = Assert.Throws<ElmoDownloadException>(() => Cache(dir).Fetch(url))!;
        Assert.That(e.Message, Does.Contain("HTTP 404").And.Contain(url.ToString()));
        Assert.That(server.Requests, Has.Count.EqualTo(1), "a 404 is not retried");
    }

    [Test]
    public void AServerThatCannotBeReachedIsReportedAfterTheRetriesAndLeavesNothing()
    {
        using var dir = new TempDir();
        var unused = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        unused.Start();
        int port = ((System.Net.IPEndPoint)unused.LocalEndpoint).Port;
        unused.Stop(); // nothing listens on this port now: connections are refused
        var cache = new ModelCache(dir.File("cache")) { RetryDelay = TimeSpan.Zero, MaxAttempts = 2 };
        var url = new Uri($"http://127.0.0.1:{port}/w.hdf5");

        var e = Assert.Throws<ElmoDownloadException>(() => cache.Fetch(url))!;

        Assert.That(e.Message, Does.StartWith($"Cannot download '{url}' (2 attempts)"));
        Assert.That(File.Exists(cache.PathFor(url)), Is.False);
        Assert.That(File.Exists(cache.PathFor(url) + ".partial"), Is.False);
    }

    [Test]
    public void CancellationKeepsThePartialFileForTheNextRun()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer();
        var content = Content(2_000_000, 9);
        server.Files["/w.hdf5"] = content;
        var cache = Cache(dir);
        var url = server.Url("/w.hdf5");
        using var cancel = new CancellationTokenSource();

        Assert.That(() => cache.Fetch(url, null, p =>
        {
            if (p.Bytes > 0) cancel.Cancel();
        }, cancel.Token), Throws.InstanceOf<OperationCanceledException>());

        Assert.That(File.Exists(cache.PathFor(url)), Is.False);
        long kept = new FileInfo(cache.PathFor(url) + ".partial").Length;
        Assert.That(kept, Is.GreaterThan(0).And.LessThan(content.Length));
        Assert.That(File.ReadAllBytes(cache.Fetch(url)), Is.EqualTo(content));
        Assert.That(server.Requests.Last().Range, Is.EqualTo($"bytes={kept}-"));
    }

    [Test]
    public void ADownloadInProgressElsewhereIsRefused()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer();
        server.Files["/w.hdf5"] = Content(1000, 10);
        var cache = Cache(dir);
        var url = server.Url("/w.hdf5");
        Directory.CreateDirectory(Path.GetDirectoryName(cache.PathFor(url))!);
        using var other = new FileStream(cache.PathFor(url) + ".partial", FileMode.Create, FileAccess.ReadWrite, FileShare.None);

        var e = Assert.Throws<ElmoDownloadException>(() => cache.Fetch(url))!;
        Assert.That(e.Message, Does.Contain("another process is downloading"));
    }

    [Test]
    public void UrlsParseWithAnOptionalSha256Fragment()
    {
        string sha = new('a', 64);
        Assert.That(ModelCache.ParseUrl($"https://h/x/w.hdf5#sha256={sha}"), Is.EqualTo((new Uri("https://h/x/w.hdf5"), sha)));
        Assert.That(ModelCache.ParseUrl("http://h/w.hdf5").Sha256, Is.Null);
        Assert.That(() => ModelCache.ParseUrl("https://h/w.hdf5#md5=abc"), Throws.ArgumentException);
        Assert.That(ModelCache.IsUrl("weights.hdf5"), Is.False);
        Assert.That(ModelCache.IsUrl("/abs/weights.hdf5"), Is.False);
        Assert.That(ModelCache.IsUrl("ftp://h/w"), Is.False);
    }

    [Test]
    public void PublishedModelsPointAtAllenNlpsFiles()
    {
        Assert.That(PublishedModels.All.Select(m => m.Name), Is.EqualTo(new[] { "small", "medium", "original", "original-5.5B" }));
        Assert.That(PublishedModels.Original.WeightsUrl.ToString(), Is.EqualTo(
            "https://allennlp.s3.amazonaws.com/models/elmo/2x4096_512_2048cnn_2xhighway/elmo_2x4096_512_2048cnn_2xhighway_weights.hdf5"));
        Assert.That(PublishedModels.Original55B.OptionsUrl.ToString(), Is.EqualTo(
            "https://allennlp.s3.amazonaws.com/models/elmo/2x4096_512_2048cnn_2xhighway_5.5B/elmo_2x4096_512_2048cnn_2xhighway_5.5B_options.json"));
        Assert.That(PublishedModels.TryGet("ORIGINAL-5.5b", out var m) && m == PublishedModels.Original55B, Is.True);
        Assert.That(PublishedModels.Small.Architecture.Lstm.CellDim, Is.EqualTo(1024));
    }

    [Test]
    public void EmbedFetchesModelUrlsIntoTheCacheOnceAndMatchesLocalFiles()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer();
        var weights = File.ReadAllBytes(Reference.FixtureWeights);
        server.Files["/elmo/options.json"] = File.ReadAllBytes(Reference.FixtureOptions);
        server.Files["/elmo/weights.hdf5"] = weights;
        string input = dir.Write("in.txt", "The cat sat .\nHello\n");
        string[] remote = ["--options", server.Url("/elmo/options.json").ToString(), "--weights", server.Url("/elmo/weights.hdf5") + "#sha256=" + Sha(weights), "--cache-dir", dir.File("cache")];

        var first = CliHarness.Run(["embed", input, dir.File("remote.hdf5"), "--all", .. remote]);
        var second = CliHarness.Run(["embed", input, dir.File("again.hdf5"), "--all", "--quiet", .. remote]);
        var local = CliHarness.Run(["embed", input, dir.File("local.hdf5"), "--all", "--quiet", .. CliHarness.FixtureModel]);

        Assert.That(first.Exit, Is.EqualTo(0), first.ToString());
        Assert.That(first.Err, Does.Contain("downloading " + server.Url("/elmo/weights.hdf5")));
        Assert.That(second.Exit, Is.EqualTo(0), second.ToString());
        Assert.That(server.Requests, Has.Count.EqualTo(2), "each file downloaded once");
        Assert.That(CliHarness.Run("compare", dir.File("remote.hdf5"), dir.File("local.hdf5"), "--atol", "0", "--rtol", "0").Exit, Is.EqualTo(0));
        Assert.That(local.Exit, Is.EqualTo(0));
    }

    [Test]
    public void EmbedWithAWrongPinnedChecksumFailsWithoutOutput()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer();
        server.Files["/o.json"] = File.ReadAllBytes(Reference.FixtureOptions);
        server.Files["/w.hdf5"] = File.ReadAllBytes(Reference.FixtureWeights);
        string input = dir.Write("in.txt", "a b\n");

        var result = CliHarness.Run("embed", input, dir.File("out.hdf5"), "--all", "--cache-dir", dir.File("cache"),
            "--options", server.Url("/o.json").ToString(), "--weights", server.Url("/w.hdf5") + "#sha256=" + new string('0', 64));
        var badFragment = CliHarness.Run("embed", input, dir.File("out.hdf5"), "--all", "--cache-dir", dir.File("cache"),
            "--options", server.Url("/o.json").ToString(), "--weights", server.Url("/w.hdf5") + "#sha1=00");

        Assert.That(result.Exit, Is.EqualTo(1), result.ToString());
        Assert.That(result.Err.TrimEnd().Split('\n').Last(), Does.StartWith("elmo: Checksum mismatch"));
        Assert.That(File.Exists(dir.File("out.hdf5")), Is.False);
        Assert.That(badFragment.Exit, Is.EqualTo(2), badFragment.ToString());
    }

    [Test]
    public void APublishedModelNameIsServedFromAPopulatedCacheWithoutTheNetwork()
    {
        // Put the fixture model where the cache keeps the 'small' model's files; no request can reach the real URLs here.
        using var dir = new TempDir();
        var cache = new ModelCache(dir.File("cache"));
        foreach (var (url, source) in new[] { (PublishedModels.Small.OptionsUrl, Reference.FixtureOptions), (PublishedModels.Small.WeightsUrl, Reference.FixtureWeights) })
        {
            string path = cache.PathFor(url);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.Copy(source, path);
        }

        var result = CliHarness.Run("embed", dir.Write("in.txt", "a b c\n"), dir.File("out.hdf5"), "--top", "--model", "small", "--cache-dir", dir.File("cache"));

        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        Assert.That(result.Err, Does.Not.Contain("downloading"));
        Assert.That(CliHarness.Read(dir.File("out.hdf5"), "0").Shape, Is.EqualTo(new[] { 3, 32 }));
        Assert.That(ModelCache.RecordedSha256(cache.PathFor(PublishedModels.Small.WeightsUrl)), Is.EqualTo(ModelCache.ComputeSha256(Reference.FixtureWeights)),
            "a file found without a sidecar gets its hash recorded");
        Assert.That(CliHarness.Run("embed", dir.File("in.txt"), dir.File("x.hdf5"), "--top", "--model", "large").Exit, Is.EqualTo(2));
    }

    [Test]
    public void InfoChecksumDetectsADamagedCachedFile()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer();
        server.Files["/o.json"] = File.ReadAllBytes(Reference.FixtureOptions);
        server.Files["/w.hdf5"] = File.ReadAllBytes(Reference.FixtureWeights);
        string[] remote = ["--options", server.Url("/o.json").ToString(), "--weights", server.Url("/w.hdf5").ToString(), "--cache-dir", dir.File("cache")];
        var ok = CliHarness.Run(["info", "--checksum", .. remote]);
        Assert.That(ok.Exit, Is.EqualTo(0), ok.ToString());
        Assert.That(ok.Out, Does.Contain("matches the hash recorded at download"));

        string cached = new ModelCache(dir.File("cache")).PathFor(server.Url("/w.hdf5"));
        using (var f = new FileStream(cached, FileMode.Open))
        {
            f.Position = f.Length - 1;
            int last = f.ReadByte();
            f.Position = f.Length - 1;
            f.WriteByte((byte)(last ^ 0xFF));
        }
        var damaged = CliHarness.Run(["info", "--checksum", .. remote]);
        Assert.That(damaged.Out, Does.Contain("DIFFERS from the hash recorded at download"));
        Assert.That(damaged.Exit, Is.EqualTo(1), damaged.ToString());
    }
}
