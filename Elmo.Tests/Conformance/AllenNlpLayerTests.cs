using System.Text.Json;
using Elmo.Core;
using Elmo.Tests.Support;
using PureHDF;

namespace Elmo.Tests.Conformance;

/// <summary>Every layer of AllenNLP's <c>_ElmoBiLm</c> on the tiny model, stateless and stateful, fixed and changing batch sizes.</summary>
public class AllenNlpLayerTests
{
    [TestCase("layers_batch4_stateless.hdf5", StateMode.Stateless)]
    [TestCase("layers_batch4_stateful.hdf5", StateMode.Stateful)]
    [TestCase("layers_batch3524_stateless.hdf5", StateMode.Stateless)]
    [TestCase("layers_batch3524_stateful.hdf5", StateMode.Stateful)]
    public void AllLayersMatch(string file, StateMode mode)
    {
        string path = Reference.File_("allennlp-tiny/" + file);
        string[][][] batches;
        using (var f = H5File.OpenRead(path))
        {
            batches = JsonSerializer.Deserialize<string[][][]>(f.Attribute("batches").Read<string>())!;
        }

        var session = Reference.TinyModel.CreateSession(mode);
        int j = 0;
        foreach (var batch in batches)
        {
            var output = session.Run(batch.Select(s => (IReadOnlyList<string>)s).ToList());
            for (int b = 0; b < batch.Length; b++, j++)
            {
                var (expected, shape) = Reference.ReadDataset(path, j.ToString());
                Assert.That(shape, Is.EqualTo(new[] { 3, batch[b].Length, 32 }), $"sentence {j} shape");
                Close.AssertAll(output.SentenceLayers(b), expected, 1e-6, 1e-5, $"{file}: sentence {j}");
            }
        }
        Assert.That(j, Is.EqualTo(30));
    }
}
