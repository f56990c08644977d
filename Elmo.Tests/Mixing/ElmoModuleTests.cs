using Elmo.Core;

namespace Elmo.Tests.Mixing;

/// <summary>Behaviour of <see cref="ElmoModule"/>: equal fresh representations, dropout, boundaries, top layer only, argument checks.</summary>
public class ElmoModuleTests
{
    private static readonly ElmoModel Model = new(RandomWeights.Create(ModelPresets.Tiny, 21));

    private static readonly IReadOnlyList<IReadOnlyList<string>> Sentences =
    [
        ["A", "fresh", "module", "mixes", "equally", "."],
        [],
        ["Two", "representations"],
    ];

    private static ElmoModule Create(int representations, ElmoModuleOptions options) => new(Model.CreateSession(StateMode.Stateless), representations, options);

    [Test]
    public void FreshRepresentationsAreIdentical()
    {
        var module = Create(3, new ElmoModuleOptions());
        var output = module.Forward(Sentences);
        Assert.That(output.Representations, Has.Count.EqualTo(3));
        Assert.That(output.Representations[1], Is.EqualTo(output.Representations[0]));
        Assert.That(output.Representations[2], Is.EqualTo(output.Representations[0]));

        // And each equals the plain average of the layers (softmax of zeros, gamma 1).
        var layers = output.BiLm.WithoutBoundaries();
        for (int b = 0; b < output.BatchSize; b++)
        {
            var all = layers.SentenceLayers(b);
            int n = output.Lengths[b], d = output.Dim;
            var rep = output.SentenceRepresentation(0, b);
            for (int i = 0; i < n * d; i++)
            {
                float mean = (all[i] + all[n * d + i] + all[2 * n * d + i]) / 3f;
                Assert.That(rep[i], Is.EqualTo(mean).Within(1e-6f), $"row {b}, element {i}");
            }
        }
    }

    [Test]
    public void OutputShapeAndMaskWithoutBoundaries()
    {
        var output = Create(1, new ElmoModuleOptions()).Forward(Sentences);
        Assert.That(output.IncludesBoundaries, Is.False);
        Assert.That(output.Lengths, Is.EqualTo(new[] { 6, 0, 2 }));
        Assert.That(output.Timesteps, Is.EqualTo(6));
        Assert.That(output.Dim, Is.EqualTo(32));
        Assert.That(output.Representations[0], Has.Length.EqualTo(3 * 6 * 32));
        Assert.That(output.Mask, Is.EqualTo(new byte[] { 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0 }));
        Assert.That(output.SentenceRepresentation(0, 1), Is.Empty);
    }

    [Test]
    public void DropoutIsOffAtInference()
    {
        var plain = Create(2, new ElmoModuleOptions { Dropout = 0 }).Forward(Sentences);
        var inference = Create(2, new ElmoModuleOptions { Dropout = 0.5f }).Forward(Sentences);
        for (int k = 0; k < 2; k++) Assert.That(inference.Representations[k], Is.EqualTo(plain.Representations[k]));
    }

    [Test]
    public void DropoutWhenTrainingIsInvertedSeededAndIndependentPerRepresentation()
    {
        const float p = 0.25f;
        var plain = Create(2, new ElmoModuleOptions { Dropout = 0 }).Forward(Sentences);
        var trained = Create(2, new ElmoModuleOptions { Dropout = p, Seed = 9 });
        trained.Training = true;
        var output = trained.Forward(Sentences);

        long kept = 0, dropped = 0;
        for (int k = 0; k < 2; k++)
        {
            var reference = plain.Representations[k];
            var actual = output.Representations[k];
            for (int i = 0; i < actual.Length; i++)
            {
                if (reference[i] == 0) continue; // padding
                if (actual[i] == 0)
                {
                    dropped++;
                }
                else
                {
                    kept++;
                    Assert.That(actual[i], Is.EqualTo(reference[i] * (1f / (1f - p))), $"representation {k}, element {i}: kept values are scaled by 1/(1 − p)");
                }
            }
        }
        double rate = (double)dropped / (kept + dropped);
        Assert.That(rate, Is.EqualTo(p).Within(0.04), $"dropped fraction over {kept + dropped} values");
        Assert.That(output.Representations[1], Is.Not.EqualTo(output.Representations[0]), "each representation draws its own mask");

        var again = Create(2, new ElmoModuleOptions { Dropout = p, Seed = 9 });
        again.Training = true;
        Assert.That(again.Forward(Sentences).Representations[0], Is.EqualTo(output.Representations[0]), "same seed, same masks");
        var other = Create(2, new ElmoModuleOptions { Dropout = p, Seed = 10 });
        other.Training = true;
        Assert.That(other.Forward(Sentences).Representations[0], Is.Not.EqualTo(output.Representations[0]), "another seed, other masks");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void KeepingBoundariesReturnsTheMixOverAllPositions(bool layerNorm)
    {
        var removed = Create(1, new ElmoModuleOptions { DoLayerNorm = layerNorm }).Forward(Sentences);
        var kept = Create(1, new ElmoModuleOptions { DoLayerNorm = layerNorm, KeepSentenceBoundaries = true }).Forward(Sentences);
        var mix = new ScalarMix(3, layerNorm: layerNorm);
        Assert.That(kept.IncludesBoundaries, Is.True);
        Assert.That(kept.Lengths, Is.EqualTo(new[] { 8, 2, 4 }));
        Assert.That(kept.Timesteps, Is.EqualTo(8));
        Assert.That(kept.Mask, Is.EqualTo(kept.BiLm.Mask));
        Assert.That(kept.Representations[0], Is.EqualTo(mix.Mix(kept.BiLm)));
        int d = kept.Dim;
        for (int b = 0; b < kept.BatchSize; b++)
        {
            int n = removed.Lengths[b];
            Assert.That(kept.SentenceRepresentation(0, b).AsSpan(d, n * d).ToArray(), Is.EqualTo(removed.SentenceRepresentation(0, b)), $"row {b}");
        }

        // Padding: zero without layer norm; with it, AllenNLP normalises the padded zeros too, so they hold −mean/std.
        var padding = kept.Vector(0, 1, 5).ToArray();
        if (layerNorm)
        {
            Assert.That(padding, Has.Some.Not.EqualTo(0f));
        }
        else
        {
            Assert.That(padding, Is.All.EqualTo(0f));
        }
        Assert.That(removed.Vector(0, 1, 0).ToArray(), Is.All.EqualTo(0f), "padding after boundary removal is zero");
    }

    [Test]
    public void TopLayerOnlyIsGammaTimesTheTopLayer()
    {
        var module = Create(2, new ElmoModuleOptions { TopLayerOnly = true });
        Assert.That(module.Mixes[0].LayerCount, Is.EqualTo(1));
        module.Mixes[1].Gamma = 2.5f;
        var output = module.Forward(Sentences);
        var layers = output.BiLm.WithoutBoundaries();
        for (int b = 0; b < output.BatchSize; b++)
        {
            int n = output.Lengths[b], d = output.Dim;
            var top = layers.SentenceLayers(b).AsSpan(2 * n * d, n * d).ToArray();
            Assert.That(output.SentenceRepresentation(0, b), Is.EqualTo(top), $"row {b}");
            Assert.That(output.SentenceRepresentation(1, b), Is.EqualTo(top.Select(v => 2.5f * v).ToArray()), $"row {b}, gamma 2.5");
        }
    }

    [Test]
    public void CharacterIdsGiveTheSameRepresentationsAsTokens()
    {
        var module = Create(2, new ElmoModuleOptions());
        var fromTokens = module.Forward(Sentences);
        var fromIds = module.Forward(Model.Mapper.BatchToIds(Sentences));
        for (int k = 0; k < 2; k++) Assert.That(fromIds.Representations[k], Is.EqualTo(fromTokens.Representations[k]));
    }

    [Test]
    public void ScalarMixParametersAreFixedByDefaultAsInAllenNlp()
    {
        var fixedMix = Create(2, new ElmoModuleOptions { ScalarMixParameters = [1f, 0f, -1f] });
        Assert.That(fixedMix.Mixes.Select(m => m.Trainable), Is.All.False);
        Assert.That(fixedMix.Mixes[1].Weights, Is.EqualTo(new[] { 1f, 0f, -1f }));
        Assert.That(fixedMix.Mixes[0].Weights, Is.Not.SameAs(fixedMix.Mixes[1].Weights));
        var trainable = Create(2, new ElmoModuleOptions { ScalarMixParameters = [1f, 0f, -1f], TrainableMixes = true });
        Assert.That(trainable.Mixes.Select(m => m.Trainable), Is.All.True);
        Assert.That(Create(1, new ElmoModuleOptions()).Mixes[0].Trainable, Is.True);
    }

    [Test]
    public void InvalidSettingsAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Create(0, new ElmoModuleOptions()));
        Assert.Throws<ArgumentOutOfRangeException>(() => Create(1, new ElmoModuleOptions { Dropout = 1f }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Create(1, new ElmoModuleOptions { Dropout = -0.1f }));
        Assert.Throws<ArgumentException>(() => Create(1, new ElmoModuleOptions { ScalarMixParameters = [0f, 0f] }));
        Assert.Throws<ArgumentException>(() => Create(1, new ElmoModuleOptions { TopLayerOnly = true, ScalarMixParameters = [0f, 0f, 0f] }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Create(1, new ElmoModuleOptions { L2Coefficient = -1f }));
        var module = Create(1, new ElmoModuleOptions());
        Assert.Throws<ArgumentException>(() => module.Forward(Model.CreateSession(StateMode.Stateless).Run(Sentences).WithoutBoundaries()));
        var otherModel = new ElmoModel(RandomWeights.Create(ModelPresets.Demo, 1));
        Assert.Throws<ArgumentException>(() => module.Forward(otherModel.CreateSession(StateMode.Stateless).Run(Sentences)));
    }

    [Test]
    public void BackwardChecksItsArguments()
    {
        var module = Create(2, new ElmoModuleOptions());
        var output = module.Forward(Sentences);
        var gradient = new float[output.Representations[0].Length];
        Assert.Throws<ArgumentException>(() => Create(2, new ElmoModuleOptions()).Backward(output, 0, gradient), "another module's output");
        Assert.Throws<ArgumentOutOfRangeException>(() => module.Backward(output, 2, gradient));
        Assert.Throws<ArgumentException>(() => module.Backward(output, 0, gradient.AsSpan(1)));
        module.Backward(output, 0, gradient);
        module.Mixes[0].Weights[1] = 0.5f;
        Assert.Throws<InvalidOperationException>(() => module.Backward(output, 0, gradient), "the mix changed since the forward pass");
        module.Backward(output, 1, gradient);
    }

    [Test]
    public void EmptyBatchesAndEmptySentences()
    {
        var module = Create(2, new ElmoModuleOptions { DoLayerNorm = true });
        var none = module.Forward([]);
        Assert.That(none.BatchSize, Is.EqualTo(0));
        Assert.That(none.Representations[0], Is.Empty);
        var empty = module.Forward([[], []]);
        Assert.That(empty.Timesteps, Is.EqualTo(0));
        Assert.That(empty.Lengths, Is.EqualTo(new[] { 0, 0 }));
        Assert.That(empty.Representations[1], Is.Empty);
        module.Backward(empty, 1, []);
        Assert.That(module.Mixes[1].WeightGradients, Is.All.EqualTo(0f));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void CorpusEmbedderMixIsTheModulesRepresentation(bool layerNorm)
    {
        var module = Create(1, new ElmoModuleOptions { DoLayerNorm = layerNorm, ScalarMixParameters = [0.5f, -1f, 2f] });
        module.Mixes[0].Gamma = 1.5f;
        var output = module.Forward(Sentences);
        var shaped = CorpusEmbedder.Shape(output.BiLm, OutputLayout.Mix, module.Mixes[0]);
        for (int b = 0; b < output.BatchSize; b++)
        {
            Assert.That(shaped[b].Shape, Is.EqualTo(new[] { output.Lengths[b], output.Dim }));
            Assert.That(shaped[b].Data, Is.EqualTo(output.SentenceRepresentation(0, b)), $"row {b}");
        }
    }

    [Test]
    public void StatefulSessionCarriesStateThroughTheModule()
    {
        var session = Model.CreateSession(StateMode.Stateful);
        var module = new ElmoModule(session, 1, new ElmoModuleOptions());
        module.Forward(Sentences);
        var second = module.Forward(Sentences);
        var reference = Model.CreateSession(StateMode.Stateful);
        reference.Run(Sentences);
        var expected = new ScalarMix(3).Mix(reference.Run(Sentences).WithoutBoundaries());
        Assert.That(second.Representations[0], Is.EqualTo(expected));
    }
}
