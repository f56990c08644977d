using System.Globalization;
using Elmo.Core;
using Elmo.Tests.Support;
using PureHDF;

namespace Elmo.Tests.Cli;

/// <summary><c>elmo dump-token-embeddings</c>, <c>compare</c>, <c>info</c>, <c>make-model</c>, <c>warm-state</c> and <c>--help</c>.</summary>
public class OtherCommandsTests
{
    [Test]
    public void DumpTokenEmbeddingsReproducesBilmTfInChunks()
    {
        using var dir = new TempDir();
        string output = dir.File("tokens.hdf5");

        var result = CliHarness.Run(["dump-token-embeddings", Reference.File_("bilm-tf-fixture/vocab_test.txt"), output, "--batch-size", "100", .. CliHarness.FixtureModel]);

        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        Assert.That(result.Err, Does.Contain("458 token embeddings of dimension 16"));
        var compare = CliHarness.Run("compare", output, Reference.File_("bilm-tf-fixture/elmo_token_embeddings.hdf5"));
        Assert.That(compare.Exit, Is.EqualTo(0), compare.ToString());
        var (data, shape) = CliHarness.Read(output, "embedding");
        Assert.That(shape, Is.EqualTo(new[] { 458, 16 }));
        var words = File.ReadAllLines(Reference.File_("bilm-tf-fixture/vocab_test.txt"));
        Assert.That(data, Is.EqualTo(Reference.TinyModel.EmbedTokens(words)), "the same as the API");
    }

    [Test]
    public void DumpTokenEmbeddingsReadsTheVocabularyAsBilmTf()
    {
        using var dir = new TempDir();
        string vocab = dir.Write("vocab.txt", "<S>\n</S>\n  the  \n!!!MAXTERMID\ncat\n");
        var result = CliHarness.Run(["dump-token-embeddings", vocab, dir.File("out.hdf5"), "--quiet", .. CliHarness.FixtureModel]);
        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        var (data, shape) = CliHarness.Read(dir.File("out.hdf5"), "embedding");
        Assert.That(shape, Is.EqualTo(new[] { 4, 16 }), "!!!MAXTERMID is skipped");
        Assert.That(data, Is.EqualTo(Reference.TinyModel.EmbedTokens(["<S>", "</S>", "the", "cat"])));
    }

    [Test]
    public void DumpTokenEmbeddingsOfAMissingVocabularyFails()
    {
        using var dir = new TempDir();
        var result = CliHarness.Run(["dump-token-embeddings", dir.File("none.txt"), dir.File("out.hdf5"), .. CliHarness.FixtureModel]);
        Assert.That(result.Exit, Is.EqualTo(1));
        Assert.That(result.Err, Does.Contain("does not exist"));
        Assert.That(File.Exists(dir.File("out.hdf5")), Is.False);
    }

    private static string WriteH5(TempDir dir, string name, Action<H5File> fill)
    {
        var file = new H5File();
        fill(file);
        string path = dir.File(name);
        file.Write(path);
        return path;
    }

    [Test]
    public void CompareAcceptsEqualFilesAndDifferencesWithinTolerance()
    {
        using var dir = new TempDir();
        string a = WriteH5(dir, "a.h5", f =>
        {
            f["0"] = new H5Dataset(new float[] { 1f, 2f, 3f, 4f }, fileDims: [2, 2]);
            f["10"] = new H5Dataset(new double[] { 0.5, 1e3 }, fileDims: [2]);
            f["2"] = new H5Dataset(new int[] { 7, 8 }, fileDims: [2]);
            f["sentence_to_index"] = new[] { "{\"a\": \"0\"}" };
            f["grp"] = new H5Group { ["inner"] = new H5Dataset(new float[] { 1f }, fileDims: [1]) };
        });
        string b = WriteH5(dir, "b.h5", f =>
        {
            f["0"] = new H5Dataset(new float[] { 1f, 2f + 5e-7f, 3f, 4f }, fileDims: [2, 2]);
            f["10"] = new H5Dataset(new double[] { 0.5, 1e3 + 5e-3 }, fileDims: [2]);
            f["2"] = new H5Dataset(new int[] { 7, 8 }, fileDims: [2]);
            f["sentence_to_index"] = new[] { "{\"a\": \"0\"}" };
            f["grp"] = new H5Group { ["inner"] = new H5Dataset(new float[] { 1f }, fileDims: [1]) };
        });

        var result = CliHarness.Run("compare", a, b);

        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        var lines = result.Out.TrimEnd().Split('\n');
        Assert.That(lines.Select(l => l.Split(' ')[0]), Is.EqualTo(new[] { "0", "2", "10", "grp/inner", "sentence_to_index", "MATCH:" }), "natural order, groups recursed");
        Assert.That(lines[0], Does.Contain("ok").And.Contain("max abs diff 4.768e-07"));
        Assert.That(lines[^1], Does.StartWith("MATCH: all 5 dataset(s) agree"));
    }

    [Test]
    public void CompareReportsEveryKindOfMismatchAndExitsWithOne()
    {
        using var dir = new TempDir();
        string a = WriteH5(dir, "a.h5", f =>
        {
            f["0"] = new H5Dataset(new float[] { 1f, 2f, 3f }, fileDims: [3]);
            f["1"] = new H5Dataset(new float[] { 1f, 2f }, fileDims: [2]);
            f["2"] = new H5Dataset(new float[] { float.NaN }, fileDims: [1]);
            f["3"] = new H5Dataset(new float[] { 1f }, fileDims: [1]);
            f["only_a"] = new H5Dataset(new float[] { 1f }, fileDims: [1]);
            f["same"] = new H5Dataset(new float[] { 1f }, fileDims: [1]);
            f["s"] = new[] { "x" };
        });
        string b = WriteH5(dir, "b.h5", f =>
        {
            f["0"] = new H5Dataset(new float[] { 1f, 2.001f, 3f }, fileDims: [3]);
            f["1"] = new H5Dataset(new float[] { 1f, 2f }, fileDims: [1, 2]);
            f["2"] = new H5Dataset(new float[] { float.NaN }, fileDims: [1]);
            f["3"] = new[] { "1" };
            f["only_b"] = new H5Dataset(new float[] { 1f }, fileDims: [1]);
            f["same"] = new H5Dataset(new float[] { 1f }, fileDims: [1]);
            f["s"] = new[] { "y" };
        });

        var result = CliHarness.Run("compare", a, b, "--only-differences");

        Assert.That(result.Exit, Is.EqualTo(1), result.ToString());
        string Line(string name) => result.Out.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        Assert.That(Line("0"), Does.Contain("MISMATCH").And.Contain("max abs diff 9.999e-04").And.Contain("1 of 3 element(s) out of tolerance"));
        Assert.That(Line("1"), Does.Contain("SHAPE MISMATCH").And.Contain("(2) vs (1, 2)"));
        Assert.That(Line("2"), Does.Contain("MISMATCH").And.Contain("NaN"), "NaN never matches, as in numpy.allclose");
        Assert.That(Line("3"), Does.Contain("TYPE MISMATCH"));
        Assert.That(Line("only_a"), Does.Contain("MISSING IN B"));
        Assert.That(Line("only_b"), Does.Contain("MISSING IN A"));
        Assert.That(Line("s"), Does.Contain("MISMATCH").And.Contain("1 of 1 string(s) differ"));
        Assert.That(result.Out, Does.Not.Contain("same "), "--only-differences");
        Assert.That(result.Out.TrimEnd().Split('\n').Last(), Does.StartWith("DIFFERENT: 7 of 8 dataset(s) do not match"));

        var loose = CliHarness.Run("compare", dir.File("a.h5"), dir.File("b.h5"), "--atol", "0.01");
        Assert.That(loose.Out.Split('\n').Single(l => l.StartsWith("0 ", StringComparison.Ordinal)), Does.Contain("ok"), "--atol widens the tolerance");
    }

    [Test]
    public void CompareReadsLargeDatasetsInChunksAndFindsADifferenceInTheLastOne()
    {
        using var dir = new TempDir();
        const int Rows = 3000, Cols = 512; // 1.5 M elements: more than one chunk
        var values = new float[Rows * Cols];
        for (int i = 0; i < values.Length; i++) values[i] = i % 997 * 0.001f;
        string a = WriteH5(dir, "a.h5", f => f["embedding"] = new H5Dataset(values, fileDims: [Rows, Cols]));
        var changed = (float[])values.Clone();
        changed[^1] += 0.5f;
        string b = WriteH5(dir, "b.h5", f => f["embedding"] = new H5Dataset(changed, fileDims: [Rows, Cols]));

        var same = CliHarness.Run("compare", a, a);
        var different = CliHarness.Run("compare", a, b);

        Assert.That(same.Exit, Is.EqualTo(0), same.ToString());
        Assert.That(different.Exit, Is.EqualTo(1), different.ToString());
        Assert.That(different.Out, Does.Contain("1 of 1536000 element(s) out of tolerance").And.Contain("max abs diff 5e-01"));
    }

    [Test]
    public void CompareOfAMissingOrNonHdf5FileIsBadInput()
    {
        using var dir = new TempDir();
        string text = dir.Write("x.txt", "not hdf5");
        var missing = CliHarness.Run("compare", dir.File("none.h5"), text);
        var notHdf5 = CliHarness.Run("compare", text, text);
        Assert.That(missing.Exit, Is.EqualTo(1));
        Assert.That(missing.Err, Does.Contain("does not exist"));
        Assert.That(notHdf5.Exit, Is.EqualTo(1));
        Assert.That(notHdf5.Err, Does.Contain("is not a readable HDF5 file"));
        Assert.That(CliHarness.Run("compare", text, text, "--atol", "-1").Exit, Is.EqualTo(2));
    }

    [Test]
    public void InfoShowsArchitectureParameterCountsAndChecksTheWeights()
    {
        var result = CliHarness.Run(["info", "--checksum", .. CliHarness.FixtureModel]);

        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        long parameters = Reference.TinyModel.Weights.ParameterCount;
        Assert.That(result.Out, Does.Contain($"parameters:   {parameters.ToString("N0", CultureInfo.InvariantCulture)} in the weight file"));
        Assert.That(result.Out, Does.Contain("5 widths (1x4, 2x8, 3x16, 4x32, 5x64) = 124 filters"));
        Assert.That(result.Out, Does.Contain("2 layer(s) x 2 directions; cell 64, projection 16"));
        Assert.That(result.Out, Does.Contain("check:      OK: all 33 datasets present"));
        Assert.That(result.Out, Does.Contain("weights sha256: " + ModelCache.ComputeSha256(Reference.FixtureWeights)));
        // The per-component counts add up to the total.
        var counts = result.Out.Split('\n').Where(l => l.TrimEnd().EndsWith("%)", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(':')[1].Trim().Split(' ')[0], NumberStyles.AllowThousands, CultureInfo.InvariantCulture));
        Assert.That(counts.Sum(), Is.EqualTo(parameters));
    }

    [Test]
    public void InfoWithOptionsAloneShowsTheArchitecture()
    {
        var result = CliHarness.Run("info", "--options", Reference.FixtureOptions);
        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        Assert.That(result.Out, Does.Contain("weights:      not given"));
    }

    [Test]
    public void InfoOfWeightsFromAnotherModelFailsNamingTheDataset()
    {
        using var dir = new TempDir();
        var make = CliHarness.Run("make-model", "--preset", "demo", "--seed", "2", dir.Path);
        Assert.That(make.Exit, Is.EqualTo(0), make.ToString());
        var result = CliHarness.Run("info", "--options", Reference.FixtureOptions, "--weights", dir.File("weights.hdf5"));
        Assert.That(result.Exit, Is.EqualTo(1), result.ToString());
        Assert.That(result.Err, Does.StartWith("elmo: ").And.Contain("weights.hdf5"));
    }

    [Test]
    public void MakeModelWritesALoadableModelReproducibleFromItsSeed()
    {
        using var dir = new TempDir();
        string outDir = Path.Combine(dir.Path, "tiny");

        var result = CliHarness.Run("make-model", "--preset", "tiny", "--seed", "5", outDir);

        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        var loaded = ElmoModel.Load(Path.Combine(outDir, "options.json"), Path.Combine(outDir, "weights.hdf5"));
        Assert.That(loaded.Options, Is.EqualTo(ModelPresets.Tiny).Using<ElmoOptions>((x, y) => x.ToJson() == y.ToJson()));
        var inMemory = new ElmoModel(RandomWeights.Create(ModelPresets.Tiny, 5));
        string[] sentence = ["A", "random", "model", "."];
        Assert.That(loaded.CreateSession(StateMode.Stateless).Run([sentence]).Layers, Is.EqualTo(inMemory.CreateSession(StateMode.Stateless).Run([sentence]).Layers));
        Assert.That(CliHarness.Run("make-model", "--preset", "huge", outDir).Exit, Is.EqualTo(2));
        Assert.That(CliHarness.Run("make-model", outDir).Exit, Is.EqualTo(2), "--preset is required");
    }

    [Test]
    public void WarmStateSavesTheBuiltInWarmState()
    {
        using var dir = new TempDir();
        string path = dir.File("warm.hdf5");

        var result = CliHarness.Run(["warm-state", path, .. CliHarness.FixtureModel]);

        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        Assert.That(result.Err, Does.Contain($"warm state after {WarmStart.BuiltInText.Count} sentences"));
        var saved = WarmStart.Load(path, Reference.TinyModel.Options.Lstm);
        var expected = Reference.TinyModel.BuiltInWarmState;
        for (int layer = 0; layer < 2; layer++)
        {
            for (int direction = 0; direction < 2; direction++)
            {
                Assert.That(saved.GetHidden(0, layer, direction), Is.EqualTo(expected.GetHidden(0, layer, direction)));
                Assert.That(saved.GetCell(0, layer, direction), Is.EqualTo(expected.GetCell(0, layer, direction)));
            }
        }
    }

    [TestCase("embed")]
    [TestCase("warm-state")]
    [TestCase("dump-token-embeddings")]
    [TestCase("compare")]
    [TestCase("info")]
    [TestCase("make-model")]
    public void EveryCommandHasHelpWithExamples(string command)
    {
        var result = CliHarness.Run(command, "--help");
        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        Assert.That(result.Out, Does.Contain("Usage:").And.Contain("Examples:").And.Contain($"elmo {command} "));
    }

    [Test]
    public void RootHelpListsTheCommandsAndUnknownCommandsAreUsageErrors()
    {
        var help = CliHarness.Run("--help");
        Assert.That(help.Exit, Is.EqualTo(0));
        foreach (var c in new[] { "embed", "warm-state", "dump-token-embeddings", "compare", "info", "make-model" })
        {
            Assert.That(help.Out, Does.Contain("  " + c + " "));
        }
        var unknown = CliHarness.Run("embedd");
        Assert.That(unknown.Exit, Is.EqualTo(2));
        Assert.That(unknown.Err, Does.StartWith("elmo: "));
    }
}
