using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Conformance;

/// <summary>
/// Architectures the reference data does not cover (any number of filters, highway and LSTM layers, tanh,
/// no projection, no clipping), checked against <see cref="NaiveBiLm"/> on weights written to a real
/// bilm-tf HDF5 file and loaded back.
/// </summary>
public class ArchitectureTests
{
    private static IEnumerable<TestCaseData> Architectures()
    {
        CharFilter[] filters = [new(1, 4), new(2, 6), new(3, 5)];
        yield return Case("one layer, no highway, relu", new(new LstmOptions(24, 8, 1, 3f, 3f, true), new CharCnnOptions(CharActivation.Relu, 3, filters, 0, 262, 50)));
        yield return Case("three layers, tanh, no clipping, no skip", new(new LstmOptions(20, 6, 3, null, null, false), new CharCnnOptions(CharActivation.Tanh, 4, filters, 1, 262, 50)));
        yield return Case("no CNN_proj (filters == projection_dim)", new(new LstmOptions(16, 15, 2, 1f, 0.5f, true), new CharCnnOptions(CharActivation.Relu, 4, filters, 3, 262, 50)));
        yield return Case("short tokens, 261 characters", new(new LstmOptions(12, 5, 2, 3f, 3f, true), new CharCnnOptions(CharActivation.Relu, 2, [new(1, 3), new(4, 9)], 1, 261, 12)));
        yield return Case("odd sizes off the panel grid", new(new LstmOptions(37, 19, 2, 3f, 3f, true), new CharCnnOptions(CharActivation.Relu, 5, [new(1, 7), new(2, 13), new(5, 33)], 2, 262, 50)));
    }

    private static TestCaseData Case(string name, ElmoOptions o) => new TestCaseData(o) { TestName = "Architecture: " + name };

    [TestCaseSource(nameof(Architectures))]
    public void EngineMatchesTextbookImplementation(ElmoOptions options)
    {
        string dir = Directory.CreateTempSubdirectory("elmo-arch").FullName;
        try
        {
            string weights = Path.Combine(dir, "w.hdf5"), opts = Path.Combine(dir, "o.json");
            RandomWeights.Write(options, 11, weights, opts);
            var model = ElmoModel.Load(opts, weights);
            Assert.That(model.Options, Is.EqualTo(options).Using<ElmoOptions>((a, b) => a.ToJson() == b.ToJson()), "options round-trip through JSON");
            var naive = new NaiveBiLm(options, weights);

            string[][] sentences = [["Hello", "world", "!"], [], ["A", "somewhat", "longer", "sentence", "with", "supercalifragilisticexpialidocious", "words", "."], ["é"]];
            var output = model.CreateSession(StateMode.Stateless, threads: 2).Run(sentences.Select(s => (IReadOnlyList<string>)s).ToList());
            for (int b = 0; b < sentences.Length; b++)
            {
                var expected = naive.Sentence(sentences[b]);
                for (int l = 0; l < expected.Length; l++)
                {
                    for (int t = 0; t < expected[l].Length; t++)
                    {
                        var want = expected[l][t].Select(v => (float)v).ToArray();
                        Close.AssertAll(output.Vector(l, b, t), want, 2e-5, 1e-4, $"sentence {b}, layer {l}, position {t}");
                    }
                }
                for (int t = expected[0].Length; t < output.Timesteps; t++)
                {
                    for (int l = 0; l < output.LayerCount; l++)
                    {
                        Assert.That(output.Vector(l, b, t).ContainsAnyExcept(0f), Is.False, $"padding of sentence {b} at {t} is zero");
                    }
                }
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
