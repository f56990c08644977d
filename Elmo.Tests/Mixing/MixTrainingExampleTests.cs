using Elmo.Core;
using Elmo.Examples.MixTraining;

namespace Elmo.Tests.Mixing;

/// <summary>Runs the example of docs/representations.md in-process: two mixes, two objectives, weights moving apart.</summary>
public class MixTrainingExampleTests
{
    [Test]
    public void TwoMixesTrainedOnDifferentObjectivesDiverge()
    {
        var model = new ElmoModel(RandomWeights.Create(ModelPresets.Tiny, seed: 1));
        var text = new StringWriter();
        var snapshots = MixTrainingExample.Run(model, text);
        TestContext.Out.Write(text.ToString());

        var first = snapshots[0];
        var last = snapshots[^1];
        Assert.That(first.Step, Is.EqualTo(0));
        Assert.That(first.Distance, Is.EqualTo(0), "fresh mixes are identical");
        Assert.That(last.Step, Is.EqualTo(120));
        Assert.That(last.Distance, Is.GreaterThan(1.0), "the trained mixes put their weight on different layers");
        Assert.That(last.Distance, Is.GreaterThan(snapshots[1].Distance), "and keep moving apart");
        Assert.That(Array.IndexOf(last.Weights[0], last.Weights[0].Max()), Is.EqualTo(0), "word identity favours layer 0");
        Assert.That(Array.IndexOf(last.Weights[1], last.Weights[1].Max()), Is.EqualTo(2), "context favours the top layer");
        Assert.That(last.Losses.All(double.IsFinite), Is.True);
        Assert.That(snapshots[^1].Losses[1], Is.LessThan(snapshots[1].Losses[1]), "the context objective's loss goes down");

        string printed = text.ToString();
        Assert.That(printed, Does.Contain("softmax(w) of mix 0"));
        Assert.That(printed.Split('\n').Count(line => line.TrimStart().StartsWith("120 ", StringComparison.Ordinal)), Is.EqualTo(1));
    }
}
