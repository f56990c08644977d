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
        // Bit rot: the bytes change, the modification time does not, so only --checksum can tell.
        File.SetLastWriteTimeUtc(cached, File.GetLastWriteTimeUtc(cached + ".sha256"));
        var damaged = CliHarness.Run(["info", "--checksum", .. remote]);
        Assert.That(damaged.Out, Does.Contain("DIFFERS from the hash recorded at download"));
        Assert.That(damaged.Exit, Is.EqualTo(1), damaged.ToString());
    }

    /// <summary>Issue 17.19: embed did not check a cached file's recorded SHA-256; it is checked when the file's modification time changed.</summary>
    [Test]
    public void ACachedFileChangedSinceItsDownloadIsRefusedAndACopiedCacheIsAccepted()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer();
        server.Files["/o.json"] = File.ReadAllBytes(Reference.FixtureOptions);
        server.Files["/w.hdf5"] = File.ReadAllBytes(Reference.FixtureWeights);
        string input = dir.Write("in.txt", "a b\n");
        string[] remote = ["--options", server.Url("/o.json").ToString(), "--weights", server.Url("/w.hdf5").ToString(), "--cache-dir", dir.File("cache"), "--quiet"];
        Assert.That(CliHarness.Run(["embed", input, dir.File("a.hdf5"), "--all", .. remote]).Exit, Is.EqualTo(0));
        string cached = new ModelCache(dir.File("cache")).PathFor(server.Url("/w.hdf5"));
        byte[] original = File.ReadAllBytes(cached);

        var changed = (byte[])original.Clone();
        changed[^1] ^= 0xFF; // the last byte of the weight data: the file still loads, with another weight
        File.WriteAllBytes(cached, changed);
        var refused = CliHarness.Run(["embed", input, dir.File("b.hdf5"), "--all", .. remote]);

        Assert.That(refused.Exit, Is.EqualTo(1), refused.ToString());
        Assert.That(refused.Err.Trim(), Does.StartWith($"elmo: The cached file '{cached}' no longer matches the SHA-256 recorded when it was downloaded").And.EndWith("Delete it, and elmo downloads it again."));
        Assert.That(File.Exists(dir.File("b.hdf5")), Is.False);
        Assert.That(server.Requests, Has.Count.EqualTo(2), "nothing downloaded behind the user's back");

        File.WriteAllBytes(cached, original); // the same bytes with a new time, as a copy without -p makes
        var copied = CliHarness.Run(["embed", input, dir.File("c.hdf5"), "--all", .. remote]);
        Assert.That(copied.Exit, Is.EqualTo(0), copied.ToString());
        Assert.That(File.GetLastWriteTimeUtc(cached + ".sha256"), Is.EqualTo(File.GetLastWriteTimeUtc(cached)), "the record follows the copy, so the next run does not hash again");
    }

    /// <summary>Issue 17.18: a close-delimited response (HTTP/1.0, no Content-Length) cut half way was cached as complete, and every later run failed.</summary>
    [Test]
    public void AResponseWithoutASizeCutHalfWayIsNotCachedAndTheNextRunDownloadsAgain()
    {
        using var dir = new TempDir();
        var weights = File.ReadAllBytes(Reference.FixtureWeights);
        using var server = new LoopbackServer { CloseDelimited = true, CutAfter = n => n == 2 ? weights.Length / 2 : null };
        server.Files["/o.json"] = File.ReadAllBytes(Reference.FixtureOptions);
        server.Files["/w.hdf5"] = weights;
        string input = dir.Write("in.txt", "a b\n");
        string[] remote = ["--options", server.Url("/o.json").ToString(), "--weights", server.Url("/w.hdf5").ToString(), "--cache-dir", dir.File("cache"), "--quiet"];
        string final = new ModelCache(dir.File("cache")).PathFor(server.Url("/w.hdf5"));

        var cut = CliHarness.Run(["embed", input, dir.File("out.hdf5"), "--all", .. remote]);

        Assert.That(cut.Exit, Is.EqualTo(1), cut.ToString());
        Assert.That(cut.Err.Trim(), Does.StartWith($"elmo: The file downloaded from '{server.Url("/w.hdf5")}' is not usable, so it was deleted and not cached: Weight file"));
        Assert.That(File.Exists(final), Is.False, "nothing under the final name");
        Assert.That(File.Exists(final + ".partial"), Is.False);
        var again = CliHarness.Run(["embed", input, dir.File("out.hdf5"), "--all", .. remote]);
        Assert.That(again.Exit, Is.EqualTo(0), again.ToString());
        Assert.That(File.ReadAllBytes(final), Is.EqualTo(weights));
    }

    /// <summary>Issue 17.18: an HTML page (or any garbage) sent with status 200 was cached forever.</summary>
    [TestCase("/o.json")]
    [TestCase("/w.hdf5")]
    public void AWebPageSentInsteadOfAModelFileIsNotCached(string which)
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer { ContentType = "text/html; charset=utf-8" };
        server.Files["/o.json"] = File.ReadAllBytes(Reference.FixtureOptions);
        server.Files["/w.hdf5"] = File.ReadAllBytes(Reference.FixtureWeights);
        server.Files[which] = "<!DOCTYPE html><html><body>Please sign in</body></html>"u8.ToArray();
        var cache = new ModelCache(dir.File("cache")) { RetryDelay = TimeSpan.Zero };

        var e = Assert.Throws<ElmoDownloadException>(() => cache.FetchModel(server.Url("/o.json"), server.Url("/w.hdf5")))!;

        Assert.That(e.Message, Does.StartWith($"The file downloaded from '{server.Url(which)}' is not usable, so it was deleted and not cached: "));
        Assert.That(e.Message, Does.EndWith("The server sent 'text/html', a web page, not the file."));
        Assert.That(File.Exists(cache.PathFor(server.Url(which))), Is.False);
        Assert.That(File.Exists(cache.PathFor(server.Url(which)) + ".sha256"), Is.False);
        server.Files[which] = File.ReadAllBytes(which == "/o.json" ? Reference.FixtureOptions : Reference.FixtureWeights);
        var files = cache.FetchModel(server.Url("/o.json"), server.Url("/w.hdf5"));
        Assert.That(ElmoModel.Load(files.OptionsPath, files.WeightsPath).Options.Lstm.CellDim, Is.EqualTo(64));
    }

    /// <summary>Issue 17.18: a wrong <c>#sha256=</c> pin deleted a good cached file that matched the earlier pin.</summary>
    [Test]
    public void AWrongPinKeepsTheGoodCachedFile()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer();
        var content = Content(50_000, 11);
        server.Files["/w.hdf5"] = content;
        var cache = Cache(dir);
        var url = server.Url("/w.hdf5");
        string path = cache.Fetch(url, Sha(content));
        string wrong = Sha(Content(10, 12));

        var e = Assert.Throws<ElmoDownloadException>(() => cache.Fetch(url, wrong))!;

        Assert.That(e.Message, Is.EqualTo($"Checksum mismatch for '{url}': expected sha256 {wrong}, got {Sha(content)}; the download was deleted; the file cached before (sha256 {Sha(content)}) was kept."));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(content));
        Assert.That(cache.Fetch(url, Sha(content)), Is.EqualTo(path));
        Assert.That(server.Requests, Has.Count.EqualTo(2), "the right pin is served from the cache again");
    }

    /// <summary>Issue 11: a failed download left an empty hash-named folder, and its message was not the documented one.</summary>
    [Test]
    public void AFailedDownloadLeavesNoEmptyFolderAndSaysWhatTheDocsSay()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer();
        var cache = Cache(dir);
        var url = server.Url("/missing.hdf5");

        var e = Assert.Throws<ElmoDownloadException>(() => cache.Fetch(url))!;

        Assert.That(e.Message, Is.EqualTo($"Cannot download '{url}': HTTP 404 Not Found."));
        Assert.That(Directory.Exists(Path.GetDirectoryName(cache.PathFor(url))), Is.False, "no empty folder");
        string docs = File.ReadAllText(Path.Combine(Reference.RepoRoot, "docs", "errors.md"));
        Assert.That(docs, Does.Contain("`Cannot download '<url>': HTTP <code> <reason>.`"));
        Assert.That(docs, Does.Contain("`Cannot download '<url>' (<n> attempts): <reason>.`"));
    }

    /// <summary>Issue 17.19: a 500 error repeated its message inside itself.</summary>
    [Test]
    public void AServerErrorIsRetriedAndReportedOnce()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer();
        server.Statuses["/w.hdf5"] = 500;
        var cache = new ModelCache(dir.File("cache")) { RetryDelay = TimeSpan.Zero, MaxAttempts = 2 };
        var url = server.Url("/w.hdf5");

        var e = Assert.Throws<ElmoDownloadException>(() => cache.Fetch(url))!;

        Assert.That(e.Message, Is.EqualTo($"Cannot download '{url}' (2 attempts): HTTP 500 Status 500."));
        Assert.That(server.Requests, Has.Count.EqualTo(2));
        Assert.That(Directory.Exists(Path.GetDirectoryName(cache.PathFor(url))), Is.False);
    }

    /// <summary>Issue 17.19: a --cache-dir that is a file said "Could not find a part of the path".</summary>
    [Test]
    public void ACacheDirectoryThatIsAFileIsNamed()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer();
        server.Files["/o.json"] = File.ReadAllBytes(Reference.FixtureOptions);
        string file = dir.Write("not-a-dir", "x");

        var r = CliHarness.Run("info", "--options", server.Url("/o.json").ToString(), "--cache-dir", file);
        var below = Assert.Throws<ElmoDownloadException>(() => new ModelCache(Path.Combine(file, "sub")).Fetch(server.Url("/o.json")))!;

        Assert.That(r.Exit, Is.EqualTo(1), r.ToString());
        Assert.That(r.Err.Trim().Split('\n').Last(), Is.EqualTo($"elmo: Cannot use '{file}' as the download cache: it is a file, not a directory."));
        Assert.That(below.Message, Is.EqualTo($"Cannot use '{Path.Combine(file, "sub")}' as the download cache: '{file}' is a file, not a directory."));
        Assert.That(File.ReadAllText(file), Is.EqualTo("x"));
    }
}
