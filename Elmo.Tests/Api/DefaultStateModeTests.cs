using Elmo.Core;
using Elmo.Tests.Cli;
using Elmo.Tests.Support;

namespace Elmo.Tests.Api;

/// <summary>
/// One default state mode everywhere: <see cref="ElmoModel.CreateSession"/>, <see cref="ElmoModule"/>, <see cref="EmbedSettings"/>
/// and <c>elmo embed</c> all start from the warm state, and for a model loaded from a file that state is the one in the
/// warm-state cache (the same file for the library and the CLI), computed once per model and machine.
/// </summary>
public class DefaultStateModeTests
{
    private static readonly string[][] Sentences = [["The", "cat", "sat", "on", "the", "mat", "."], ["Hello"], []];

    [Test]
    public void EveryEntryPointDefaultsToWarm()
    {
        using var dir = new TempDir();
        var model = ElmoModel.Load(Reference.FixtureOptions, Reference.FixtureWeights, dir.Path);
        Assert.That(ElmoModel.DefaultStateMode, Is.EqualTo(StateMode.Warm));
        Assert.That(model.CreateSession().Mode, Is.EqualTo(ElmoModel.DefaultStateMode), "CreateSession()");
        Assert.That(new ElmoModule(model, 1).Session.Mode, Is.EqualTo(ElmoModel.DefaultStateMode), "new ElmoModule(model, ...)");
        Assert.That(new EmbedSettings().Mode, Is.EqualTo(ElmoModel.DefaultStateMode), "EmbedSettings (CorpusEmbedder)");
        Assert.That(new ElmoEmbedder(model).Mode, Is.EqualTo(ElmoModel.DefaultStateMode), "new ElmoEmbedder(model)");
        Assert.That(new ElmoSessionPool(model).Mode, Is.EqualTo(ElmoModel.DefaultStateMode), "new ElmoSessionPool(model)");
        Assert.That(ElmoModel.Demo().CreateSession().Mode, Is.EqualTo(ElmoModel.DefaultStateMode), "the demo model");

        // Stateless and stateful stay one argument away.
        Assert.That(model.CreateSession(StateMode.Stateless).Mode, Is.EqualTo(StateMode.Stateless));
        Assert.That(new ElmoModule(model, 1, mode: StateMode.Stateful).Session.Mode, Is.EqualTo(StateMode.Stateful));
    }

    [Test]
    public void TheLibraryAndTheCliGiveTheSameDefaultVectors()
    {
        using var dir = new TempDir();
        string cache = Directory.CreateDirectory(dir.File("cache")).FullName;
        var model = ElmoModel.Load(Reference.FixtureOptions, Reference.FixtureWeights, cache);
        var library = model.CreateSession().Run(Sentences).WithoutBoundaries();
        var module = new ElmoModule(model, 1, new ElmoModuleOptions { TopLayerOnly = true }).Forward(Sentences);
        var embedder = new ElmoEmbedder(model).EmbedBatch(Sentences);

        string input = dir.Write("in.txt", string.Join("\n", Sentences.Take(2).Select(s => string.Join(" ", s))) + "\n");
        var cli = CliHarness.Run(["embed", input, dir.File("out.hdf5"), "--all", "--quiet", "--cache-dir", cache, .. CliHarness.FixtureModel]);
        Assert.That(cli.Exit, Is.EqualTo(0), cli.ToString());
        for (int i = 0; i < 2; i++)
        {
            Assert.That(CliHarness.Read(dir.File("out.hdf5"), i.ToString()).Data, Is.EqualTo(library.SentenceLayers(i)), $"sentence {i}: elmo embed and CreateSession()");
            var top = library.SentenceLayers(i).AsSpan(2 * Sentences[i].Length * library.Dim).ToArray();
            Assert.That(module.SentenceRepresentation(0, i), Is.EqualTo(top), $"sentence {i}: ElmoModule (gamma 1, top layer)");
            Assert.That(embedder[i].ToArray(), Is.EqualTo(library.SentenceLayers(i)), $"sentence {i}: ElmoEmbedder");
        }

        // And the default is warm, not stateless: the vectors differ from the zero-state ones.
        var stateless = model.CreateSession(StateMode.Stateless).Run(Sentences).WithoutBoundaries();
        Assert.That(stateless.SentenceLayers(0), Is.Not.EqualTo(library.SentenceLayers(0)));
    }

    [Test]
    public void TheWarmStateIsComputedOnceAndReadFromTheCacheTheCliUses()
    {
        using var dir = new TempDir();
        string cache = Directory.CreateDirectory(dir.File("cache")).FullName;
        var first = ElmoModel.Load(Reference.FixtureOptions, Reference.FixtureWeights, cache);
        string path = WarmStateCache.PathFor(first, Reference.FixtureWeights, cache);
        Assert.That(File.Exists(path), Is.False, "nothing is cached before a warm session is made");
        Assert.That(first.CreateSession().WarmState!.Hidden[0], Is.EqualTo(first.BuiltInWarmState.Hidden[0]));
        Assert.That(File.Exists(path), Is.True, "the first warm session saves the state");
        Assert.That(first.CacheDirectory, Is.EqualTo(cache));
        Assert.That(first.WeightsPath, Is.EqualTo(Path.GetFullPath(Reference.FixtureWeights)));

        // Replace the cached state by another (valid) one: a later process reads it instead of computing the state,
        // and so does elmo embed with the same cache.
        var other = WarmStart.Compute(first, [["Completely", "different", "words", "."]]);
        WarmStart.Save(other, path);
        var second = ElmoModel.Load(Reference.FixtureOptions, Reference.FixtureWeights, cache);
        var session = second.CreateSession();
        Assert.That(session.WarmState!.Hidden[1], Is.EqualTo(other.Hidden[1]), "read from the cache, not computed");
        Assert.That(session.WarmState.Cell[3], Is.EqualTo(other.Cell[3]));

        var expected = second.CreateSession(StateMode.Warm, other).Run([Sentences[0]]).WithoutBoundaries().SentenceLayers(0);
        Assert.That(session.Run([Sentences[0]]).WithoutBoundaries().SentenceLayers(0), Is.EqualTo(expected));
        string input = dir.Write("in.txt", string.Join(" ", Sentences[0]) + "\n");
        var cli = CliHarness.Run(["embed", input, dir.File("out.hdf5"), "--all", "--quiet", "--cache-dir", cache, .. CliHarness.FixtureModel]);
        Assert.That(cli.Exit, Is.EqualTo(0), cli.ToString());
        Assert.That(CliHarness.Read(dir.File("out.hdf5"), "0").Data, Is.EqualTo(expected), "elmo embed reads the same cache file");
    }

    [Test]
    public void TheDefaultCacheDirectoryIsTheCliDefault()
    {
        var model = ElmoModel.Load(Reference.FixtureOptions, Reference.FixtureWeights);
        Assert.That(model.CacheDirectory, Is.EqualTo(Path.GetFullPath(ModelCache.DefaultDirectory)));
        Assert.That(model.CacheDirectory, Is.EqualTo(Path.GetFullPath(TestCacheSetup.CacheDirectory)), "the tests point ELMO_CACHE at a temporary directory");
    }

    [Test]
    public void AModelWithoutAWeightFileComputesItsWarmStateInProcess()
    {
        var model = new ElmoModel(RandomWeights.Create(ModelPresets.Tiny, 5));
        Assert.That(model.WeightsPath, Is.Null);
        Assert.That(model.CacheDirectory, Is.Null);
        Assert.That(model.WarmState, Is.SameAs(model.BuiltInWarmState));
    }
}
