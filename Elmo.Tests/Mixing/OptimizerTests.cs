using Elmo.Core;

namespace Elmo.Tests.Mixing;

/// <summary>SGD and Adam over scalar mixes, against their PyTorch update rules computed by hand.</summary>
public class OptimizerTests
{
    private static ScalarMix MixWithGradients(float[] weights, float gamma, float[] dw, float dgamma, float l2 = 0f)
    {
        var mix = new ScalarMix(weights.Length, weights, gamma, l2Coefficient: l2);
        dw.CopyTo(mix.WeightGradients, 0);
        mix.GammaGradient = dgamma;
        return mix;
    }

    [Test]
    public void SgdStepsAgainstTheGradient()
    {
        var mix = MixWithGradients([0.5f, -1f, 2f], 1.5f, [0.1f, -0.2f, 0.3f], 4f);
        var sgd = new SgdOptimizer([mix], 0.5f);
        sgd.Step();
        Assert.That(mix.Weights, Is.EqualTo(new[] { 0.5f - 0.5f * 0.1f, -1f + 0.5f * 0.2f, 2f - 0.5f * 0.3f }));
        Assert.That(mix.Gamma, Is.EqualTo(1.5f - 0.5f * 4f));
        Assert.That(sgd.Steps, Is.EqualTo(1));
        Assert.That(mix.WeightGradients, Is.EqualTo(new[] { 0.1f, -0.2f, 0.3f }), "Step does not clear gradients");
        sgd.ZeroGradients();
        Assert.That(mix.WeightGradients, Is.All.EqualTo(0f));
        Assert.That(mix.GammaGradient, Is.EqualTo(0f));
    }

    [Test]
    public void SgdMomentumAccumulatesVelocity()
    {
        var mix = MixWithGradients([1f], 1f, [2f], 0f);
        var sgd = new SgdOptimizer([mix], 0.1f, momentum: 0.9f);
        sgd.Step(); // b = 2, w = 1 − 0.2
        mix.WeightGradients[0] = 1f;
        sgd.Step(); // b = 0.9·2 + 1 = 2.8, w = 0.8 − 0.28
        Assert.That(mix.Weights[0], Is.EqualTo(1f - 0.1f * 2f - 0.1f * (0.9f * 2f + 1f)).Within(1e-6f));
    }

    [Test]
    public void AdamFollowsTheTorchRule()
    {
        float[] g1 = [0.3f, -2f, 0f], g2 = [-0.1f, -1f, 5f];
        var mix = MixWithGradients([0f, 0f, 0f], 1f, g1, 0.5f);
        const float lr = 0.01f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
        var adam = new AdamOptimizer([mix], lr, b1, b2, eps);
        adam.Step();
        mix.ZeroGradients();
        g2.CopyTo(mix.WeightGradients, 0);
        mix.GammaGradient = -0.5f;
        adam.Step();

        double[] p = [0, 0, 0, 1], m = new double[4], v = new double[4];
        double[][] grads = [[.. g1.Select(x => (double)x), 0.5], [.. g2.Select(x => (double)x), -0.5]];
        for (int t = 1; t <= 2; t++)
        {
            for (int i = 0; i < 4; i++)
            {
                double g = grads[t - 1][i];
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                p[i] -= lr * (m[i] / (1 - Math.Pow(b1, t))) / (Math.Sqrt(v[i] / (1 - Math.Pow(b2, t))) + eps);
            }
        }
        Assert.That(mix.Weights.Select(x => (double)x), Is.EqualTo(p.Take(3)).Within(1e-6));
        Assert.That((double)mix.Gamma, Is.EqualTo(p[3]).Within(1e-6));

        // The first Adam step moves every parameter with a non-zero gradient by about lr against its sign.
        var fresh = MixWithGradients([0f, 0f], 1f, [1e-3f, -50f], 0f);
        new AdamOptimizer([fresh], lr).Step();
        Assert.That(fresh.Weights[0], Is.EqualTo(-lr).Within(1e-6f));
        Assert.That(fresh.Weights[1], Is.EqualTo(lr).Within(1e-6f));
        Assert.That(fresh.Gamma, Is.EqualTo(1f));
    }

    [Test]
    public void FixedMixesAreNotUpdated()
    {
        var trainable = MixWithGradients([0f, 0f], 1f, [1f, -1f], 1f);
        var frozen = MixWithGradients([0f, 0f], 1f, [1f, -1f], 1f);
        frozen.Trainable = false;
        new AdamOptimizer([trainable, frozen], 0.1f).Step();
        Assert.That(trainable.Weights, Is.Not.EqualTo(new[] { 0f, 0f }));
        Assert.That(frozen.Weights, Is.EqualTo(new[] { 0f, 0f }));
        Assert.That(frozen.Gamma, Is.EqualTo(1f));
    }

    [Test]
    public void L2PenaltyEntersTheStep()
    {
        var mix = MixWithGradients([1f, -2f], 1f, [0f, 0f], 0f, l2: 0.25f);
        Assert.That(mix.RegularizationLoss, Is.EqualTo(0.25f * (1f + 4f)));
        Assert.That(mix.RegularizedWeightGradients(), Is.EqualTo(new[] { 0.5f, -1f }));
        new SgdOptimizer([mix], 1f).Step();
        Assert.That(mix.Weights, Is.EqualTo(new[] { 0.5f, -1f }), "w − lr · 2 · l2 · w");
    }

    [Test]
    public void NonFiniteGradientsStopTheStepBeforeAnyUpdate()
    {
        var good = MixWithGradients([0f], 1f, [1f], 1f);
        var bad = MixWithGradients([0f], 1f, [float.NaN], 1f);
        var sgd = new SgdOptimizer([good, bad], 0.1f);
        Assert.Throws<InvalidOperationException>(sgd.Step);
        Assert.That(good.Weights[0], Is.EqualTo(0f));
        Assert.That(good.Gamma, Is.EqualTo(1f));
        Assert.That(sgd.Steps, Is.EqualTo(0));
    }

    [Test]
    public void InvalidSettingsAreRefused()
    {
        var mix = new ScalarMix(2);
        Assert.Throws<ArgumentException>(() => _ = new SgdOptimizer([], 0.1f));
        Assert.Throws<ArgumentException>(() => _ = new SgdOptimizer([mix, mix], 0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new SgdOptimizer([mix], 0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new SgdOptimizer([mix], float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new SgdOptimizer([mix], 0.1f, momentum: 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new AdamOptimizer([mix], 0.1f, beta1: 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new AdamOptimizer([mix], 0.1f, beta2: -0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new AdamOptimizer([mix], 0.1f, epsilon: 0f));
    }
}
