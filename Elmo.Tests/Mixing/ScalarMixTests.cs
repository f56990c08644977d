using Elmo.Core;

namespace Elmo.Tests.Mixing;

/// <summary><see cref="ScalarMix"/> against a plain implementation of AllenNLP's formula, and its argument checks.</summary>
public class ScalarMixTests
{
    /// <summary>AllenNLP's ScalarMix.forward written out in double precision.</summary>
    private static double[] Naive(float[] layers, byte[] mask, int dim, float[] w, float gamma, bool layerNorm)
    {
        int size = mask.Length * dim, count = w.Length;
        double max = w.Max();
        var e = w.Select(x => Math.Exp(x - max)).ToArray();
        var s = e.Select(x => x / e.Sum()).ToArray();
        var result = new double[size];
        for (int l = 0; l < count; l++)
        {
            double mean = 0, variance = 0, n = mask.Count(m => m != 0) * dim;
            if (layerNorm)
            {
                for (int i = 0; i < size; i++) mean += layers[l * size + i] * mask[i / dim];
                mean /= n;
                for (int i = 0; i < size; i++) variance += Math.Pow((layers[l * size + i] * mask[i / dim] - mean) * mask[i / dim], 2);
                variance /= n;
            }
            for (int i = 0; i < size; i++)
            {
                double h = layers[l * size + i];
                result[i] += s[l] * (layerNorm ? (h - mean) / Math.Sqrt(variance + 1e-13) : h);
            }
        }
        return result.Select(x => gamma * x).ToArray();
    }

    [TestCase(1, false)]
    [TestCase(3, false)]
    [TestCase(3, true)]
    [TestCase(5, true)]
    public void MixMatchesTheFormula(int layerCount, bool layerNorm)
    {
        var random = new Random(layerCount);
        const int positions = 13, dim = 7;
        var layers = Enumerable.Range(0, layerCount * positions * dim).Select(_ => (float)(random.NextDouble() * 4 - 1)).ToArray();
        var mask = Enumerable.Range(0, positions).Select(i => (byte)(i % 4 == 3 ? 0 : 1)).ToArray();
        var w = Enumerable.Range(0, layerCount).Select(_ => (float)(random.NextDouble() * 3 - 1.5)).ToArray();
        var mix = new ScalarMix(layerCount, w, 1.3f, layerNorm);
        var actual = new float[positions * dim];
        mix.Mix(layers, mask, dim, actual);
        var expected = Naive(layers, mask, dim, w, 1.3f, layerNorm);
        for (int i = 0; i < actual.Length; i++) Assert.That(actual[i], Is.EqualTo(expected[i]).Within(1e-5), $"element {i}");
        Assert.That(mix.NormalizedWeights().Sum(), Is.EqualTo(1f).Within(1e-6f));
    }

    [Test]
    public void BackwardAccumulatesUntilCleared()
    {
        var layers = Enumerable.Range(0, 2 * 3 * 2).Select(i => (float)i / 7).ToArray();
        byte[] mask = [1, 1, 0];
        float[] gradient = [1, -1, 0.5f, 2, 0, 0];
        var mix = new ScalarMix(2, [0.3f, -0.2f], 1.1f);
        mix.Backward(layers, mask, 2, gradient);
        var once = mix.WeightGradients.ToArray();
        float gammaOnce = mix.GammaGradient;
        Assert.That(once, Has.Some.Not.EqualTo(0f));
        Assert.That(once.Sum(), Is.EqualTo(0f).Within(1e-6f), "softmax gradients sum to zero");
        mix.Backward(layers, mask, 2, gradient);
        Assert.That(mix.WeightGradients, Is.EqualTo(once.Select(g => 2 * g)).Within(1e-6f));
        Assert.That(mix.GammaGradient, Is.EqualTo(2 * gammaOnce).Within(1e-6f));
        mix.ZeroGradients();
        Assert.That(mix.WeightGradients, Is.All.EqualTo(0f));
        Assert.That(mix.GammaGradient, Is.EqualTo(0f));
    }

    [Test]
    public void InvalidArgumentsAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ScalarMix(0));
        Assert.Throws<ArgumentException>(() => _ = new ScalarMix(2, [1f]));
        Assert.Throws<ArgumentException>(() => _ = new ScalarMix(1, [float.NaN]));
        Assert.Throws<ArgumentException>(() => _ = new ScalarMix(1, gamma: float.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ScalarMix(1, l2Coefficient: -1f));
        var mix = new ScalarMix(2);
        Assert.Throws<ArgumentException>(() => mix.Mix(new float[2 * 3 * 4 - 1], new byte[3], 4, new float[12]));
        Assert.Throws<ArgumentException>(() => mix.Mix(new float[2 * 3 * 4], new byte[3], 4, new float[11]));
        Assert.Throws<ArgumentException>(() => mix.Backward(new float[2 * 3 * 4], new byte[3], 4, new float[13]));
        Assert.Throws<ArgumentOutOfRangeException>(() => mix.Mix(new float[0], new byte[0], 0, new float[0]));
    }
}
