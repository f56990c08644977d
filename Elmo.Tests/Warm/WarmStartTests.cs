using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Warm;

/// <summary>
/// Warm mode's defining property: a sentence's vectors in warm mode equal those the stateful biLM gives it
/// at batch size 1 right after the warm-up sentences.
/// </summary>
public class WarmStartTests
{
    private static readonly string[][] WarmUp =
    [
        ["The", "weather", "was", "fine", "all", "week", "."],
        ["Nobody", "expected", "the", "results", "to", "change", "so", "quickly", "."],
        ["Prices", "fell", "."],
    ];

    private static readonly string[][] Sentences =
    [
        ["ELMo", "helps", "disambiguate", "ELMo", "from", "Elmo", "."],
        [],
        ["Crème", "brûlée", "costs", "5", "€", "in", "Zürich", "—", "naïve", "café", "日本語", "😀", "."],
        ["Hi"],
        ["A", "much", "longer", "sentence", "that", "keeps", "going", "for", "a", "while", "so", "that", "batches", "have", "rows", "of", "very", "different", "lengths", "."],
        [],
        ["Don", "'t", "!"],
        ["\ud800", "lone", "surrogate", "x\udc00y"],
        ["The", "same", "sentence", "twice", "."],
        ["The", "same", "sentence", "twice", "."],
    ];

    private static float[] StatefulAfterWarmUp(ElmoModel model, string[] sentence)
    {
        var session = model.CreateSession(StateMode.Stateful, threads: 1);
        foreach (var w in WarmUp) session.Run([w]);
        return session.Run([sentence]).SentenceLayers(0);
    }

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(7)]
    public void WarmEqualsStatefulAfterWarmUpAtBatchSizeOne(int batchSize)
    {
        var model = Reference.TinyModel;
        var warm = WarmStart.Compute(model, WarmUp);
        var session = model.CreateSession(StateMode.Warm, warm);
        for (int start = 0; start < Sentences.Length; start += batchSize)
        {
            var batch = Sentences.Skip(start).Take(batchSize).Select(s => (IReadOnlyList<string>)s).ToList();
            var output = session.Run(batch);
            for (int b = 0; b < batch.Count; b++)
            {
                var expected = StatefulAfterWarmUp(model, Sentences[start + b]);
                Close.AssertAll(output.SentenceLayers(b), expected, 1e-6, 0, $"batch size {batchSize}, sentence {start + b}");
            }
        }
    }

    [Test]
    public void WarmStateIsTheStatefulStateAfterTheWarmUp()
    {
        var model = Reference.TinyModel;
        var warm = WarmStart.Compute(model, WarmUp);
        var session = model.CreateSession(StateMode.Stateful);
        foreach (var w in WarmUp) session.Run([w]);
        var carried = session.CarriedState!;
        Assert.That(warm.Rows, Is.EqualTo(1));
        for (int l = 0; l < model.Options.Lstm.Layers; l++)
        {
            for (int d = 0; d < 2; d++)
            {
                Assert.That(warm.GetHidden(0, l, d), Is.EqualTo(carried.GetHidden(0, l, d)), $"h layer {l} dir {d}");
                Assert.That(warm.GetCell(0, l, d), Is.EqualTo(carried.GetCell(0, l, d)), $"c layer {l} dir {d}");
                Assert.That(warm.GetHidden(0, l, d).Any(v => v != 0), Is.True, "the warm state is not zero");
            }
        }
    }

    [Test]
    public void WarmResultsAreIdenticalForAnyBatchSizeOrderAndThreadCount()
    {
        var model = Reference.TinyModel;
        var warm = WarmStart.Compute(model, WarmUp);
        float[][] Run(int batchSize, int threads, bool reversed)
        {
            var order = Enumerable.Range(0, Sentences.Length).ToArray();
            if (reversed) Array.Reverse(order);
            var session = model.CreateSession(StateMode.Warm, warm, threads);
            var result = new float[Sentences.Length][];
            for (int start = 0; start < order.Length; start += batchSize)
            {
                var idx = order.Skip(start).Take(batchSize).ToArray();
                var output = session.Run(idx.Select(i => (IReadOnlyList<string>)Sentences[i]).ToList());
                for (int b = 0; b < idx.Length; b++) result[idx[b]] = output.SentenceLayers(b);
            }
            return result;
        }

        var baseline = Run(1, 1, false);
        foreach (var (batchSize, threads, reversed) in new[] { (3, 1, false), (7, 2, true), (10, 2, false), (4, 8, true) })
        {
            var other = Run(batchSize, threads, reversed);
            for (int i = 0; i < Sentences.Length; i++)
            {
                Assert.That(other[i], Is.EqualTo(baseline[i]), $"sentence {i}: batch {batchSize}, threads {threads}, reversed {reversed} differs bitwise");
            }
        }
    }

    [Test]
    public void WarmStateSurvivesSaveAndLoad()
    {
        var model = Reference.TinyModel;
        var warm = WarmStart.ComputeBuiltIn(model);
        string dir = Directory.CreateTempSubdirectory("elmo-warm").FullName;
        try
        {
            string path = Path.Combine(dir, "warm.hdf5");
            WarmStart.Save(warm, path);
            var loaded = WarmStart.Load(path, model.Options.Lstm);
            var batch = Sentences.Select(s => (IReadOnlyList<string>)s).ToList();
            var fresh = model.CreateSession(StateMode.Warm, warm).Run(batch);
            var reloaded = model.CreateSession(StateMode.Warm, loaded).Run(batch);
            Assert.That(reloaded.Layers, Is.EqualTo(fresh.Layers));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void WarmStateOfAnotherModelIsRefusedWithTheFileNamed()
    {
        var other = new ElmoModel(RandomWeights.Create(ModelPresets.Demo, 3));
        string dir = Directory.CreateTempSubdirectory("elmo-warm").FullName;
        try
        {
            string path = Path.Combine(dir, "demo-warm.hdf5");
            WarmStart.Save(new LstmState(other.Options.Lstm, 1), path);
            var e = Assert.Throws<ElmoInputException>(() => WarmStart.Load(path, ModelPresets.Tiny.Lstm))!;
            Assert.That(e.Message, Does.Contain(path).And.Contain("hidden"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void WarmDiffersFromStatelessButBuiltInTextIsUsable()
    {
        var model = Reference.TinyModel;
        var warm = WarmStart.ComputeBuiltIn(model);
        var batch = new List<IReadOnlyList<string>> { Sentences[0] };
        var cold = model.CreateSession(StateMode.Stateless).Run(batch).SentenceLayers(0);
        var hot = model.CreateSession(StateMode.Warm, warm).Run(batch).SentenceLayers(0);
        int perLayer = cold.Length / 3;
        Assert.That(hot.AsSpan(0, perLayer).SequenceEqual(cold.AsSpan(0, perLayer)), Is.True, "layer 0 is context-independent");
        Assert.That(Close.MaxAbsDiff(hot.AsSpan(perLayer), cold.AsSpan(perLayer)), Is.GreaterThan(1e-4), "contextual layers depend on the start state");
    }
}

public class BuiltInWarmStateTests
{
    [Test]
    public void WarmSessionWithoutAStateUsesTheBuiltInText()
    {
        var model = Reference.TinyModel;
        var batch = new List<IReadOnlyList<string>> { new[] { "Hello", "there", "." } };
        var implicitWarm = model.CreateSession(StateMode.Warm).Run(batch);
        var explicitWarm = model.CreateSession(StateMode.Warm, WarmStart.ComputeBuiltIn(model)).Run(batch);
        Assert.That(implicitWarm.Layers, Is.EqualTo(explicitWarm.Layers));
        Assert.That(model.BuiltInWarmState, Is.SameAs(model.BuiltInWarmState), "computed once");
    }
}
