using System.Text.Json;
using Elmo.Core;
using Elmo.Tests.Support;
using PureHDF;

namespace Elmo.Tests.Mixing;

/// <summary>
/// AllenNLP's <c>Elmo(options, weights, num_output_representations=2, dropout=0)</c> on the tiny model
/// (<c>allennlp-tiny/elmo_module.hdf5</c>): both representations and the gradients of every mix's weights and gamma
/// for the loss <c>L = Σ_k Σ representation_k ⊙ upstream_gradient_k</c>, in three settings (default; set weights and
/// gammas; set weights and gammas with layer norm).
/// </summary>
public class ElmoModuleReferenceTests
{
    private const double Tolerance = 1e-5;

    [TestCase("0")]
    [TestCase("1")]
    [TestCase("2")]
    public void RepresentationsAndGradientsMatchAllenNlp(string setting)
    {
        string path = Reference.File_("allennlp-tiny/elmo_module.hdf5");
        using var file = H5File.OpenRead(path);
        var sentences = JsonSerializer.Deserialize<string[][]>(file.Attribute("sentences").Read<string>())!;
        var group = file.Group(setting);
        var weights = JsonSerializer.Deserialize<float[][]>(group.Attribute("scalar_parameters").Read<string>())!;
        var gammas = JsonSerializer.Deserialize<float[]>(group.Attribute("gamma").Read<string>())!;
        bool layerNorm = group.Attribute("do_layer_norm").Read<byte>() != 0;
        Assert.That(weights, Has.Length.EqualTo(2));

        var module = new ElmoModule(Reference.TinyModel, 2, new ElmoModuleOptions { Dropout = 0f, DoLayerNorm = layerNorm }, StateMode.Stateless);
        for (int k = 0; k < 2; k++)
        {
            weights[k].CopyTo(module.Mixes[k].Weights, 0);
            module.Mixes[k].Gamma = gammas[k];
        }
        var output = module.Forward(sentences.Select(s => (IReadOnlyList<string>)s).ToList());

        var mask = group.Dataset("mask").Read<byte[]>();
        Assert.That(output.Mask, Is.EqualTo(mask), "mask");
        Assert.That(new[] { output.BatchSize, output.Timesteps, output.Dim }, Is.EqualTo(new[] { 3, 7, 32 }));

        for (int k = 0; k < 2; k++)
        {
            var expected = group.Dataset($"representation_{k}").Read<float[]>();
            Close.AssertAll(output.Representations[k], expected, Tolerance, 0, $"setting {setting}, representation {k}");
            module.Backward(output, k, group.Dataset($"upstream_gradient_{k}").Read<float[]>());
        }
        for (int k = 0; k < 2; k++)
        {
            var expectedW = group.Dataset($"grad_scalar_parameters_{k}").Read<float[]>();
            var expectedGamma = group.Dataset($"grad_gamma_{k}").Read<float[]>();
            TestContext.Out.WriteLine($"setting {setting} mix {k}: dw max diff {Close.MaxAbsDiff(module.Mixes[k].WeightGradients, expectedW):G3}, dgamma diff {Math.Abs(module.Mixes[k].GammaGradient - expectedGamma[0]):G3}");
            Close.AssertAll(module.Mixes[k].WeightGradients, expectedW, Tolerance, 0, $"setting {setting}, dL/dw of mix {k}");
            Close.AssertAll([module.Mixes[k].GammaGradient], expectedGamma, Tolerance, 0, $"setting {setting}, dL/dgamma of mix {k}");
        }
    }
}
