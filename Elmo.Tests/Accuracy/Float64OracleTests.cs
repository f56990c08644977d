using System.Diagnostics;
using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Accuracy;

/// <summary>
/// The engine against a float64 oracle (<see cref="NaiveBiLm"/>: every stage in double precision, the float32
/// weights widened exactly) on the full-size original architecture (random weights, seed 1), a few short sentences,
/// boundaries included. Each layer's max and mean absolute error must stay within AllenNLP + PyTorch float32's error
/// against AllenNLP in float64 on the same model (32 corpus sentences; docs/accuracy.md): the engine is to be at
/// least as accurate as the reference it reproduces.
/// </summary>
public class Float64OracleTests
{
    /// <summary>PyTorch float32's (max, mean) error per layer (docs/accuracy.md, measured with ../shared/peer).</summary>
    private static readonly (double Max, double Mean)[] PyTorchFloat32 = [(2.68e-7, 2.89e-8), (7.31e-8, 1.03e-8), (9.43e-8, 1.31e-8)];

    private static readonly string[][] Sentences =
    [
        ["The", "cat", "sat", "on", "the", "mat", "."],
        ["Copyright", "(", "C", ")", "2007", "Free", "Software", "Foundation", ",", "Inc", "."],
        ["Everyone", "is", "permitted", "to", "copy", "it"],
    ];

    private static BiLmOutput RunEngine(ElmoOptions options) =>
        new ElmoModel(RandomWeights.Create(options, 1)).CreateSession(StateMode.Stateless, threads: 2).Run(Sentences.Select(s => (IReadOnlyList<string>)s).ToList());

    [Test]
    public void OriginalArchitectureIsAsAccurateAsPyTorchFloat32()
    {
        var clock = Stopwatch.StartNew();
        var options = ModelPresets.Original;
        var output = RunEngine(options);
        GC.Collect(); // the engine's model (374 MB) before the oracle's weights (another 374 MB)
        var naive = new NaiveBiLm(options, 1);
        var exact = new double[Sentences.Length][][][];
        Parallel.For(0, Sentences.Length, new ParallelOptions { MaxDegreeOfParallelism = 2 }, b => exact[b] = naive.Sentence(Sentences[b]));

        int layers = output.LayerCount;
        var max = new double[layers];
        var sum = new double[layers];
        var count = new long[layers];
        for (int b = 0; b < Sentences.Length; b++)
        {
            for (int l = 0; l < layers; l++)
            {
                Assert.That(exact[b][l], Has.Length.EqualTo(output.Lengths[b]), $"positions of sentence {b}");
                for (int t = 0; t < exact[b][l].Length; t++)
                {
                    var ours = output.Vector(l, b, t);
                    for (int j = 0; j < ours.Length; j++)
                    {
                        double e = Math.Abs(ours[j] - exact[b][l][t][j]);
                        max[l] = Math.Max(max[l], e);
                        sum[l] += e;
                        count[l]++;
                    }
                }
            }
        }

        for (int l = 0; l < layers; l++)
        {
            double mean = sum[l] / count[l];
            TestContext.Out.WriteLine(
                $"layer {l}: max {max[l]:E2} (PyTorch float32 {PyTorchFloat32[l].Max:E2}, ratio {max[l] / PyTorchFloat32[l].Max:F2}), " +
                $"mean {mean:E2} (PyTorch {PyTorchFloat32[l].Mean:E2}, ratio {mean / PyTorchFloat32[l].Mean:F2}), {count[l]} values");
        }
        TestContext.Out.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s");
        Assert.Multiple(() =>
        {
            for (int l = 0; l < layers; l++)
            {
                Assert.That(max[l], Is.LessThanOrEqualTo(PyTorchFloat32[l].Max), $"layer {l}: max error vs float64");
                Assert.That(sum[l] / count[l], Is.LessThanOrEqualTo(PyTorchFloat32[l].Mean), $"layer {l}: mean error vs float64");
                Assert.That(max[l], Is.GreaterThan(0), $"layer {l}: float32 results cannot all be exact; the comparison is broken");
            }
        });
    }
}
