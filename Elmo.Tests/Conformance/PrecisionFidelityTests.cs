using Elmo.Core;
using Elmo.Kernels.Gemm;
using Elmo.Tests.Support;

namespace Elmo.Tests.Conformance;

/// <summary>
/// The opt-in reduced precisions keep every contextual vector close to float32's: per-vector cosine ≥ 0.999 with
/// bfloat16 weights and ≥ 0.99 with int8 weights, on the bilm-tf fixture model over its 30 sentences and on a random
/// model of the original architecture over the built-in warm-up text. Float32 itself is untouched (the conformance
/// tests check it at their usual tolerances).
/// </summary>
public class PrecisionFidelityTests
{
    private static readonly Dictionary<WeightPrecision, double> MinCosine = new()
    {
        [WeightPrecision.Bf16] = 0.999,
        [WeightPrecision.Int8] = 0.99,
    };

    private static void CheckFidelity(ElmoModel exact, IReadOnlyList<IReadOnlyList<string>> sentences, WeightPrecision precision, string what)
    {
        var reduced = exact.WithPrecision(precision);
        Assert.That(reduced.Weights.Precision, Is.EqualTo(precision));
        Assert.That((double)reduced.Weights.SizeInBytes / exact.Weights.SizeInBytes, Is.LessThan(precision == WeightPrecision.Bf16 ? 0.6 : 0.36), "memory");
        var fidelity = PrecisionFidelity.Compare(exact, reduced, sentences);
        foreach (var f in fidelity)
        {
            TestContext.Out.WriteLine($"{what}, {precision}, layer {f.Layer}: {f.Vectors} vectors, cosine min {f.MinCosine:F6}, median {f.MedianCosine:F6}, max abs diff {f.MaxAbsDiff:G3}");
        }
        Assert.That(fidelity, Has.Count.EqualTo(exact.Options.OutputLayers));
        Assert.That(fidelity.All(f => f.Vectors == sentences.Sum(s => s.Count)), "every token of every layer compared");
        foreach (var f in fidelity.Where(f => f.Layer > 0))
        {
            Assert.That(f.MinCosine, Is.GreaterThanOrEqualTo(MinCosine[precision]), $"{what}, {precision}: the least similar vector of layer {f.Layer}");
        }
        Assert.That(fidelity.Max(f => f.MaxAbsDiff), Is.GreaterThan(0), "reduced precision changes the values (the comparison is not of a model with itself)");
    }

    [TestCase(WeightPrecision.Bf16)]
    [TestCase(WeightPrecision.Int8)]
    public void TheFixtureModelStaysWithinTheBound(WeightPrecision precision)
    {
        CheckFidelity(Reference.TinyModel, Reference.Sentences(), precision, "bilm-tf fixture");
    }

    [TestCase(WeightPrecision.Bf16)]
    [TestCase(WeightPrecision.Int8)]
    public void ARandomOriginalSizeModelStaysWithinTheBound(WeightPrecision precision)
    {
        var sentences = WarmStart.BuiltInText.Select(s => (IReadOnlyList<string>)s.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToArray();
        CheckFidelity(OriginalModel.Value, sentences, precision, "random original");
    }

    private static readonly Lazy<ElmoModel> OriginalModel = new(() => new ElmoModel(RandomWeights.Create(ModelPresets.Get("original"), 1)));

    [TestCase(WeightPrecision.Bf16)]
    [TestCase(WeightPrecision.Int8)]
    public void LoadingInAPrecisionEqualsConvertingAfterLoading(WeightPrecision precision)
    {
        // The loader converts matrix by matrix through a reused staging area: the same values as converting a loaded model.
        var loaded = ElmoModel.Load(Reference.FixtureOptions, Reference.FixtureWeights, null, precision);
        var converted = Reference.TinyModel.WithPrecision(precision);
        Assert.That(loaded.Weights.Precision, Is.EqualTo(precision));
        Assert.That(loaded.Weights.SizeInBytes, Is.EqualTo(converted.Weights.SizeInBytes));
        var sentences = Reference.Sentences().Take(8).Select(s => (IReadOnlyList<string>)s).ToArray();
        Assert.That(loaded.CreateSession(StateMode.Stateless).Run(sentences).Layers, Is.EqualTo(converted.CreateSession(StateMode.Stateless).Run(sentences).Layers));
    }

    [Test]
    public void ReducedModelsRunEveryModeAndKeepTheirOwnWarmState()
    {
        var bf16 = Reference.TinyModel.WithPrecision(WeightPrecision.Bf16);
        Assert.That(Reference.TinyModel.WithPrecision(WeightPrecision.Fp32), Is.SameAs(Reference.TinyModel));
        Assert.That(bf16.WithPrecision(WeightPrecision.Bf16), Is.SameAs(bf16));
        Assert.Throws<InvalidOperationException>(() => bf16.WithPrecision(WeightPrecision.Int8));
        string[][] sentences = [["The", "cat", "sat", "."], ["Hello"]];
        var warm = bf16.CreateSession(StateMode.Warm).Run(sentences);
        var stateless = bf16.CreateSession(StateMode.Stateless).Run(sentences);
        Assert.That(warm.Layers, Is.Not.EqualTo(stateless.Layers), "warm differs from stateless");
        Assert.That(bf16.WarmState.Hidden[0], Is.Not.EqualTo(Reference.TinyModel.WarmState.Hidden[0]), "the bf16 model's warm state is its own");
        string cache = WarmStateCache.PathFor(bf16, Reference.FixtureWeights, "/tmp/x");
        Assert.That(cache, Is.Not.EqualTo(WarmStateCache.PathFor(Reference.TinyModel, Reference.FixtureWeights, "/tmp/x")), "cached under its own key");
    }
}
