using Elmo.Core;
using Elmo.Tests.Cli;
using Elmo.Tests.Support;

namespace Elmo.Tests.Api;

/// <summary>The ways in: <see cref="ElmoModel.Demo"/>, <see cref="ElmoModel.FromPublished(string, ModelCache?, Action{DownloadProgress}?, CancellationToken)"/> and its async twin.</summary>
public class ModelEntryTests
{
    [Test]
    public void DemoIsTheCliDemoModel()
    {
        var demo = ElmoModel.Demo();
        Assert.That(ElmoModel.Demo(), Is.SameAs(demo), "one shared instance");
        Assert.That(demo.Options.ToJson(), Is.EqualTo(ModelPresets.Demo.ToJson()));
        Assert.That(demo.WeightsPath, Is.Null);

        using var dir = new TempDir();
        var cli = CliHarness.Run("embed", dir.Write("in.txt", "Hello world .\n"), dir.File("out.hdf5"), "--model", "demo", "--all", "--quiet");
        Assert.That(cli.Exit, Is.EqualTo(0), cli.ToString());
        var expected = demo.CreateSession().Run([["Hello", "world", "."]]).WithoutBoundaries().SentenceLayers(0);
        Assert.That(CliHarness.Read(dir.File("out.hdf5"), "0").Data, Is.EqualTo(expected));
    }

    [Test]
    public void UnknownPublishedNameIsOneClearError()
    {
        var e = Assert.Throws<ArgumentException>(() => ElmoModel.FromPublished("large"))!;
        Assert.That(e.Message, Does.StartWith("Unknown published model 'large'; known: small, medium, original, original-5.5B"));
        Assert.ThrowsAsync<ArgumentException>(() => ElmoModel.FromPublishedAsync("demo"));
    }

    [Test]
    public void FromPublishedDownloadsOnceThenLoadsFromTheCache()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer();
        server.Files["/m/options.json"] = File.ReadAllBytes(Reference.FixtureOptions);
        server.Files["/m/weights.hdf5"] = File.ReadAllBytes(Reference.FixtureWeights);
        var published = new PublishedModel("tiny", "the bilm-tf test fixture", server.Url("/m/options.json"), server.Url("/m/weights.hdf5"), ModelPresets.Tiny);
        var cache = new ModelCache(dir.File("cache"));

        long reported = 0;
        var model = ElmoModel.FromPublished(published, cache, p => reported = Math.Max(reported, p.Bytes));
        Assert.That(server.Requests.Select(r => r.Path), Is.EqualTo(new[] { "/m/options.json", "/m/weights.hdf5" }));
        Assert.That(reported, Is.GreaterThan(0), "progress is reported while downloading");
        Assert.That(model.WeightsPath, Is.EqualTo(cache.PathFor(published.WeightsUrl)));
        Assert.That(model.CacheDirectory, Is.EqualTo(cache.Directory), "the warm state is kept beside the downloads");
        Assert.That(ModelCache.RecordedSha256(model.WeightsPath!), Is.EqualTo(ModelCache.ComputeSha256(Reference.FixtureWeights)), "verified and recorded");

        var again = ElmoModel.FromPublishedAsync(published, cache).GetAwaiter().GetResult();
        Assert.That(server.Requests, Has.Count.EqualTo(2), "the second call makes no request");
        var sentence = new[] { new[] { "A", "small", "test", "." } };
        Assert.That(again.CreateSession().Run(sentence).Layers, Is.EqualTo(Reference.TinyModel.CreateSession().Run(sentence).Layers));
    }

    [Test]
    public async Task FromPublishedByNameUsesThePublishedUrlsInTheCache()
    {
        // Files already in the cache under the published small model's URLs: no request is made (none could be, here).
        using var dir = new TempDir();
        var cache = new ModelCache(dir.File("cache"));
        foreach (var (url, file) in new[] { (PublishedModels.Small.OptionsUrl, Reference.FixtureOptions), (PublishedModels.Small.WeightsUrl, Reference.FixtureWeights) })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(cache.PathFor(url))!);
            File.Copy(file, cache.PathFor(url));
        }
        var model = ElmoModel.FromPublished("SMALL", cache);
        Assert.That(model.WeightsPath, Is.EqualTo(cache.PathFor(PublishedModels.Small.WeightsUrl)));
        var viaAsync = await ElmoModel.FromPublishedAsync("small", cache);
        Assert.That(viaAsync.WeightsPath, Is.EqualTo(model.WeightsPath));
    }

    [Test]
    public void FromPublishedAsyncCanBeCancelled()
    {
        using var dir = new TempDir();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        using var server = new LoopbackServer();
        server.Files["/o.json"] = File.ReadAllBytes(Reference.FixtureOptions);
        var published = new PublishedModel("x", "x", server.Url("/o.json"), server.Url("/w.hdf5"), ModelPresets.Tiny);
        Assert.That(async () => await ElmoModel.FromPublishedAsync(published, new ModelCache(dir.File("cache")), cancellationToken: cancelled.Token),
            Throws.InstanceOf<OperationCanceledException>());
    }
}
