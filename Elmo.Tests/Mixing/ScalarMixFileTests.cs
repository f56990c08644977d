using Elmo.Core;

namespace Elmo.Tests.Mixing;

/// <summary>Saving and loading mix parameters: exact round trips and clear errors.</summary>
public class ScalarMixFileTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "elmo-mix-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void RoundTripIsExact()
    {
        var a = new ScalarMix(3, [0.1f, -1e-30f, 3.3999999e38f], 0.7f, layerNorm: true, trainable: false, l2Coefficient: 1e-3f);
        var b = new ScalarMix(1, [MathF.PI], -2.5f);
        string path = Path.Combine(_dir, "mixes.json");
        ScalarMixFile.Save(path, [a, b]);
        var loaded = ScalarMixFile.Load(path);
        Assert.That(loaded, Has.Count.EqualTo(2));
        foreach (var (expected, actual) in new[] { a, b }.Zip(loaded))
        {
            Assert.That(actual.Weights.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.Weights.Select(BitConverter.SingleToInt32Bits)));
            Assert.That(BitConverter.SingleToInt32Bits(actual.Gamma), Is.EqualTo(BitConverter.SingleToInt32Bits(expected.Gamma)));
            Assert.That(actual.LayerNorm, Is.EqualTo(expected.LayerNorm));
            Assert.That(actual.Trainable, Is.EqualTo(expected.Trainable));
            Assert.That(actual.L2Coefficient, Is.EqualTo(expected.L2Coefficient));
        }
        Assert.That(Directory.GetFiles(_dir), Has.Length.EqualTo(1), "no temporary file left behind");
    }

    [Test]
    public void ModuleSavesAndLoadsItsMixes()
    {
        var model = new ElmoModel(RandomWeights.Create(ModelPresets.Tiny, 2));
        IReadOnlyList<IReadOnlyList<string>> sentences = [["save", "and", "load"], ["x"]];
        var trained = new ElmoModule(model.CreateSession(StateMode.Stateless), 2, new ElmoModuleOptions { DoLayerNorm = true });
        trained.Mixes[0].Weights[0] = 1.25f;
        trained.Mixes[1].Weights[2] = -0.75f;
        trained.Mixes[1].Gamma = 0.3f;
        trained.Mixes[1].Trainable = false;
        string path = Path.Combine(_dir, "module.json");
        trained.SaveMixes(path);

        var restored = new ElmoModule(model.CreateSession(StateMode.Stateless), 2, new ElmoModuleOptions { DoLayerNorm = true });
        restored.LoadMixes(path);
        Assert.That(restored.Mixes[1].Trainable, Is.False);
        var expected = trained.Forward(sentences);
        var actual = restored.Forward(sentences);
        for (int k = 0; k < 2; k++) Assert.That(actual.Representations[k], Is.EqualTo(expected.Representations[k]));

        // The file must fit the module.
        var e = Assert.Throws<ElmoWeightsException>(() => new ElmoModule(model.CreateSession(StateMode.Stateless), 3, new ElmoModuleOptions { DoLayerNorm = true }).LoadMixes(path));
        Assert.That(e!.Dataset, Is.EqualTo("mixes"));
        e = Assert.Throws<ElmoWeightsException>(() => new ElmoModule(model.CreateSession(StateMode.Stateless), 2).LoadMixes(path));
        Assert.That(e!.Message, Does.Contain("layer_norm"));
        e = Assert.Throws<ElmoWeightsException>(() => new ElmoModule(model.CreateSession(StateMode.Stateless), 2, new ElmoModuleOptions { DoLayerNorm = true, TopLayerOnly = true }).LoadMixes(path));
        Assert.That(e!.Message, Does.Contain("weights has 3 layers"));
    }

    [TestCase("not json", null, "not valid JSON")]
    [TestCase("[1, 2]", null, "JSON object")]
    [TestCase("""{"format": "other", "version": 1, "mixes": []}""", "format", "elmo-scalar-mix")]
    [TestCase("""{"format": "elmo-scalar-mix", "version": 2, "mixes": []}""", "version", "version 1")]
    [TestCase("""{"format": "elmo-scalar-mix", "version": 1}""", "mixes", "array")]
    [TestCase("""{"format": "elmo-scalar-mix", "version": 1, "mixes": [{"weights": [], "gamma": 1, "layer_norm": false, "trainable": true, "l2_coefficient": 0}]}""", "mixes[0].weights", "non-empty")]
    [TestCase("""{"format": "elmo-scalar-mix", "version": 1, "mixes": [{"weights": [0, "a"], "gamma": 1, "layer_norm": false, "trainable": true, "l2_coefficient": 0}]}""", "mixes[0].weights[1]", "number")]
    [TestCase("""{"format": "elmo-scalar-mix", "version": 1, "mixes": [{"weights": [0], "layer_norm": false, "trainable": true, "l2_coefficient": 0}]}""", "mixes[0].gamma", "missing")]
    [TestCase("""{"format": "elmo-scalar-mix", "version": 1, "mixes": [{"weights": [0], "gamma": 1, "layer_norm": 1, "trainable": true, "l2_coefficient": 0}]}""", "mixes[0].layer_norm", "true or false")]
    [TestCase("""{"format": "elmo-scalar-mix", "version": 1, "mixes": [{"weights": [0], "gamma": 1, "layer_norm": false, "trainable": true, "l2_coefficient": -1}]}""", "mixes[0].l2_coefficient", "≥ 0")]
    [TestCase("""{"format": "elmo-scalar-mix", "version": 1, "mixes": [{"weights": [1e39], "gamma": 1, "layer_norm": false, "trainable": true, "l2_coefficient": 0}]}""", "mixes[0].weights[0]", "finite")]
    public void BadFilesNameTheField(string content, string? field, string message)
    {
        string path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, content);
        var e = Assert.Throws<ElmoWeightsException>(() => ScalarMixFile.Load(path));
        Assert.That(e!.FilePath, Is.EqualTo(path));
        Assert.That(e.Dataset, Is.EqualTo(field));
        Assert.That(e.Message, Does.Contain(path).And.Contain(message));
    }

    [Test]
    public void MissingFileAndUnwritablePathAreTypedErrors()
    {
        var e = Assert.Throws<ElmoWeightsException>(() => ScalarMixFile.Load(Path.Combine(_dir, "absent.json")));
        Assert.That(e!.Message, Does.Contain("cannot be read"));
        Assert.Throws<ElmoOutputException>(() => ScalarMixFile.Save(_dir, [new ScalarMix(1)]));
        Assert.Throws<ElmoOutputException>(() => ScalarMixFile.Save(Path.Combine(_dir, "no", "such", "dir.json"), [new ScalarMix(1)]));
    }
}
