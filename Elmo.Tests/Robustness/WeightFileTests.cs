using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Robustness;

/// <summary>Bad weight files: each fails with an <see cref="ElmoWeightsException"/> naming the file and, where there is one, the dataset.</summary>
[TestFixture]
public class WeightFileTests
{
    private const string WProj = "CNN_proj/W_proj";

    /// <summary>All layers of a few sentences: equal fingerprints mean equal weights.</summary>
    internal static float[] Fingerprint(ElmoModel model) =>
        model.CreateSession(StateMode.Stateless, threads: 1).Run([["The", "cat", "sat", "."], ["Ünïcødé", "tokens", "here"], []]).Layers;

    private static ElmoWeightsException LoadFails(string weightsPath, ElmoOptions? options = null)
    {
        var architecture = options ?? WeightVariants.FixtureOptions; // outside Assert.Throws: missing reference data skips
        var e = Assert.Throws<ElmoWeightsException>(() => ElmoWeights.Load(weightsPath, architecture))!;
        Assert.That(e.FilePath, Is.EqualTo(weightsPath));
        Assert.That(e.Message, Does.Contain(weightsPath));
        return e;
    }

    [Test]
    public void MissingFileIsNamed()
    {
        using var dir = new TempDir();
        var e = LoadFails(dir.File("nope.hdf5"), ModelPresets.Tiny);
        Assert.That(e.Message, Does.Contain("does not exist"));
    }

    [Test]
    public void DirectoryIsRefused()
    {
        using var dir = new TempDir();
        var e = LoadFails(dir.Path, ModelPresets.Tiny);
        Assert.That(e.Message, Does.Contain("is a directory"));
    }

    [TestCase("")]
    [TestCase("not an hdf5 file\n")]
    [TestCase("{\"lstm\": {}}")]
    public void NotHdf5IsRefused(string content)
    {
        using var dir = new TempDir();
        string path = dir.File("weights.hdf5");
        File.WriteAllText(path, content);
        var e = LoadFails(path, ModelPresets.Tiny);
        Assert.That(e.Message, Does.Contain("HDF5").Or.Contain("damaged"));
    }

    [Test]
    public void RandomBytesAreRefused()
    {
        using var dir = new TempDir();
        string path = dir.File("weights.hdf5");
        var bytes = new byte[100_000];
        new Random(5).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        LoadFails(path, ModelPresets.Tiny);
    }

    [Test]
    public void OptionsFileGivenAsWeightsIsRefused()
    {
        var e = LoadFails(Reference.FixtureOptions);
        Assert.That(e.Message, Does.Contain("HDF5"));
    }

    /// <summary>
    /// A copy cut at any length either fails with a weights error, or (when only unused trailing bytes were
    /// cut) loads weights identical to the original: never silently different weights.
    /// </summary>
    [Test]
    public void TruncatedCopiesFailOrLoadIdenticalWeights()
    {
        byte[] original = File.ReadAllBytes(Reference.FixtureWeights);
        var expected = Fingerprint(Reference.TinyModel);
        var lengths = new SortedSet<int> { 0, 1, 4, 8, 64, 96, 512, 800, 1024, 2048, 4096, original.Length - 1, original.Length - 8, original.Length - 4096 };
        var rng = new Random(17);
        for (int i = 1; i < 16; i++) lengths.Add(original.Length * i / 16);
        while (lengths.Count < 40) lengths.Add(rng.Next(original.Length));

        using var dir = new TempDir();
        string path = dir.File("cut.hdf5");
        int refused = 0;
        foreach (int length in lengths)
        {
            File.WriteAllBytes(path, original.AsSpan(0, length).ToArray());
            try
            {
                var weights = ElmoWeights.Load(path, WeightVariants.FixtureOptions);
                Assert.That(Fingerprint(new ElmoModel(weights)), Is.EqualTo(expected), $"cut at {length} of {original.Length} bytes loaded different weights");
            }
            catch (ElmoWeightsException e)
            {
                Assert.That(e.FilePath, Is.EqualTo(path));
                refused++;
            }
        }
        Assert.That(refused, Is.GreaterThanOrEqualTo(lengths.Count - 2), "nearly every cut must be refused");
    }

    [Test]
    public void RewrittenFixtureLoadsIdentically()
    {
        using var dir = new TempDir();
        string path = dir.File("copy.hdf5");
        WeightVariants.WriteModified(path, e => e);
        Assert.That(Fingerprint(new ElmoModel(ElmoWeights.Load(path, WeightVariants.FixtureOptions))), Is.EqualTo(Fingerprint(Reference.TinyModel)));
    }

    [TestCase("char_embed")]
    [TestCase("CNN/W_cnn_3")]
    [TestCase("CNN/b_cnn_0")]
    [TestCase("CNN_high_1/W_carry")]
    [TestCase("CNN_high_0/b_transform")]
    [TestCase(WProj)]
    [TestCase("CNN_proj/b_proj")]
    [TestCase("RNN_0/RNN/MultiRNNCell/Cell0/LSTMCell/W_0")]
    [TestCase("RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/W_P_0")]
    [TestCase("RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/B")]
    public void MissingDatasetIsNamed(string name)
    {
        using var dir = new TempDir();
        string path = dir.File("w.hdf5");
        WeightVariants.WriteModified(path, e => e.Name == name ? null : e);
        var e = LoadFails(path);
        Assert.That(e.Dataset, Is.EqualTo(name));
        Assert.That(e.Message, Does.Contain("missing").And.Contain(name));
    }

    [Test]
    public void WrongShapeIsNamedWithBothShapes()
    {
        using var dir = new TempDir();
        string path = dir.File("w.hdf5");
        // CNN_proj/W_proj is (124, 16); store it as (16, 124).
        WeightVariants.WriteModified(path, e => e.Name == WProj ? e with { Dims = [e.Dims[1], e.Dims[0]] } : e);
        var e = LoadFails(path);
        Assert.That(e.Dataset, Is.EqualTo(WProj));
        Assert.That(e.Message, Does.Contain("(16, 124)").And.Contain("(124, 16)"));
    }

    [Test]
    public void ExtraDimensionIsRefused()
    {
        using var dir = new TempDir();
        string path = dir.File("w.hdf5");
        const string name = "CNN/b_cnn_2";
        WeightVariants.WriteModified(path, e => e.Name == name ? e with { Dims = [1, e.Dims[0]] } : e);
        Assert.That(LoadFails(path).Dataset, Is.EqualTo(name));
    }

    [Test]
    public void IntegerDatasetIsRefused()
    {
        using var dir = new TempDir();
        string path = dir.File("w.hdf5");
        const string name = "CNN_high_0/b_carry";
        WeightVariants.WriteModified(path, e => e.Name == name ? e with { Data = ((float[])e.Data).Select(v => (int)v).ToArray() } : e);
        var e = LoadFails(path);
        Assert.That(e.Dataset, Is.EqualTo(name));
        Assert.That(e.Message, Does.Contain("floating point"));
    }

    [Test]
    public void Float64DatasetsAreConvertedExactly()
    {
        using var dir = new TempDir();
        string path = dir.File("w.hdf5");
        WeightVariants.WriteModified(path, e => e with { Data = ((float[])e.Data).Select(v => (double)v).ToArray() });
        var model = new ElmoModel(ElmoWeights.Load(path, WeightVariants.FixtureOptions));
        Assert.That(Fingerprint(model), Is.EqualTo(Fingerprint(Reference.TinyModel)));
    }

    [Test]
    public void Float16DatasetsAreWidened()
    {
        using var dir = new TempDir();
        string half = dir.File("half.hdf5"), rounded = dir.File("rounded.hdf5");
        WeightVariants.WriteModified(half, e => e with { Data = ((float[])e.Data).Select(v => (Half)v).ToArray() });
        WeightVariants.WriteModified(rounded, e => e with { Data = ((float[])e.Data).Select(v => (float)(Half)v).ToArray() });
        var fromHalf = new ElmoModel(ElmoWeights.Load(half, WeightVariants.FixtureOptions));
        var fromRounded = new ElmoModel(ElmoWeights.Load(rounded, WeightVariants.FixtureOptions));
        Assert.That(Fingerprint(fromHalf), Is.EqualTo(Fingerprint(fromRounded)));
    }

    [TestCase(float.NaN, "NaN")]
    [TestCase(float.PositiveInfinity, "Infinity")]
    [TestCase(float.NegativeInfinity, "-Infinity")]
    public void NonFiniteValuesAreRefused(float poison, string shown)
    {
        using var dir = new TempDir();
        string path = dir.File("w.hdf5");
        const string name = "RNN_1/RNN/MultiRNNCell/Cell0/LSTMCell/W_0";
        WeightVariants.WriteModified(path, e =>
        {
            if (e.Name != name) return e;
            var data = (float[])((float[])e.Data).Clone();
            data[1234] = poison;
            return e with { Data = data };
        });
        var e = LoadFails(path);
        Assert.That(e.Dataset, Is.EqualTo(name));
        Assert.That(e.Message, Does.Contain("non-finite").And.Contain("index 1234").And.Contain(shown));
    }

    [Test]
    public void Float64OutsideFloat32RangeIsRefused()
    {
        using var dir = new TempDir();
        string path = dir.File("w.hdf5");
        WeightVariants.WriteModified(path, e =>
        {
            var data = ((float[])e.Data).Select(v => (double)v).ToArray();
            if (e.Name == "char_embed") data[7] = 1e300;
            return e with { Data = data };
        });
        Assert.That(LoadFails(path).Dataset, Is.EqualTo("char_embed"));
    }

    /// <summary>Options of another model against the fixture weights: the first mismatching dataset is named.</summary>
    [TestCase("\"projection_dim\": 16", "\"projection_dim\": 32", "", "CNN_proj/W_proj")]
    [TestCase("\"dim\": 64", "\"dim\": 128", "lstm", "RNN_0/RNN/MultiRNNCell/Cell0/LSTMCell/W_0")]
    [TestCase("\"n_highway\": 2", "\"n_highway\": 3", "", "CNN_high_2/W_transform")]
    [TestCase("\"n_highway\": 2", "\"n_highway\": 1", "", "CNN_high_1")]
    [TestCase("\"n_layers\": 2", "\"n_layers\": 3", "", "RNN_0/RNN/MultiRNNCell/Cell2/LSTMCell/W_0")]
    [TestCase("\"n_layers\": 2", "\"n_layers\": 1", "", "RNN_0/RNN/MultiRNNCell/Cell1")]
    [TestCase("[5, 64]", "[5, 64], [6, 128]", "", "CNN/W_cnn_5")]
    [TestCase(",\n      [5, 64]", "", "", "CNN_high_0/W_transform")]
    [TestCase("\"dim\": 4", "\"dim\": 8", "embedding", "char_embed")]
    public void OptionsOfAnotherModelAreRefused(string from, string to, string after, string dataset)
    {
        string json = File.ReadAllText(Reference.FixtureOptions);
        int start = after.Length == 0 ? 0 : json.IndexOf(after, StringComparison.Ordinal);
        int at = json.IndexOf(from, start, StringComparison.Ordinal);
        Assert.That(at, Is.GreaterThanOrEqualTo(0), $"'{from}' not found in the fixture options: {json}");
        var options = ElmoOptions.Parse(json[..at] + to + json[(at + from.Length)..]);
        var e = LoadFails(Reference.FixtureWeights, options);
        Assert.That(e.Dataset, Is.EqualTo(dataset));
        Assert.That(e.Message, Does.Contain("model"));
    }

    [Test]
    public void ModelLoadReportsTheWeightsFile()
    {
        using var dir = new TempDir();
        string path = dir.File("w.hdf5");
        File.WriteAllBytes(path, [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
        string options = Reference.FixtureOptions; // outside Assert.Throws, so that missing reference data skips the test
        var e = Assert.Throws<ElmoWeightsException>(() => ElmoModel.Load(options, path))!;
        Assert.That(e.FilePath, Is.EqualTo(path));
    }
}
