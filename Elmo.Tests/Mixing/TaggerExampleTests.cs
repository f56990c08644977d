using Elmo.Core;
using Elmo.Examples.Tagger;
using Elmo.Tests.Support;

namespace Elmo.Tests.Mixing;

/// <summary>
/// Runs examples/Elmo.Examples.Tagger in process (docs/representations.md quotes its output): a tagger trained with
/// the two scalar mixes of an <see cref="ElmoModule"/> through <see cref="ElmoModule.Backward"/>.
/// </summary>
public class TaggerExampleTests
{
    [Test]
    public void OnTheDemoModelTheLossFallsAndTheTwoRepresentationsDiverge()
    {
        var text = new StringWriter();
        var snapshots = TaggerExample.Run(ElmoModel.Demo(), text);
        TestContext.Out.Write(text.ToString());

        var (first, last) = (snapshots[0], snapshots[^1]);
        Assert.That(first.Epoch, Is.EqualTo(0));
        Assert.That(last.Epoch, Is.EqualTo(12));
        Assert.That(first.RepresentationDifference, Is.EqualTo(0), "fresh representations are identical, bit for bit");
        Assert.That(first.Distance, Is.EqualTo(0));
        Assert.That(last.RepresentationDifference, Is.GreaterThan(0.1), "trained from different places, they diverge");
        Assert.That(last.Distance, Is.GreaterThan(0));
        Assert.That(last.Gammas[0], Is.Not.EqualTo(last.Gammas[1]));
        Assert.That(last.TestLoss, Is.LessThan(first.TestLoss / 10), "the task loss falls");
        Assert.That(last.TrainLoss, Is.LessThan(snapshots[1].TrainLoss));
        Assert.That(last.TestAccuracy, Is.GreaterThan(0.95));
        Assert.That(last.AmbiguousAccuracy, Is.GreaterThan(0.9), "noun-or-verb words are told apart by their context");
        Assert.That(text.ToString(), Does.Contain("softmax(w) of mix 0").And.Contain("The task loss fell from"));
    }

    [Test]
    public void OnATrainedBiLmTheTwoMixesFavourDifferentLayers()
    {
        // The bilm-tf test fixture is a trained (tiny) biLM: the input mix moves onto a contextual layer, the output mix stays nearer the token layer.
        var model = ElmoModel.Load(Reference.FixtureOptions, Reference.FixtureWeights);
        var text = new StringWriter();
        var snapshots = TaggerExample.Run(model, text);
        TestContext.Out.Write(text.ToString());

        var (first, last) = (snapshots[0], snapshots[^1]);
        Assert.That(first.RepresentationDifference, Is.EqualTo(0));
        int favourite0 = Array.IndexOf(last.Weights[0], last.Weights[0].Max()), favourite1 = Array.IndexOf(last.Weights[1], last.Weights[1].Max());
        Assert.That(favourite0, Is.Not.EqualTo(favourite1), "the mixes lean on different layers");
        Assert.That(last.Distance, Is.GreaterThan(0.5));
        Assert.That(last.TestLoss, Is.LessThan(first.TestLoss / 3));
    }
}
