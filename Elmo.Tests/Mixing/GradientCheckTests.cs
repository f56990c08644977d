using Elmo.Core;

namespace Elmo.Tests.Mixing;

/// <summary>
/// Finite-difference checks of every trainable parameter (each pre-softmax weight and gamma of each mix) through
/// the whole module: mix, layer norm, boundary removal or not, top-layer-only, dropout and the L2 penalty.
/// </summary>
public class GradientCheckTests
{
    private static readonly ElmoModel Model = new(RandomWeights.Create(ModelPresets.Tiny, 11));

    private static readonly IReadOnlyList<IReadOnlyList<string>> Sentences =
    [
        ["The", "cat", "sat", "on", "the", "mat", "."],
        ["Hi"],
        [],
        ["Gradients", "flow", "back", "."],
    ];

    private static readonly BiLmOutput Layers = Model.CreateSession(StateMode.Stateless).Run(Sentences);

    public static IEnumerable<TestCaseData> Settings()
    {
        yield return new TestCaseData(new ElmoModuleOptions { Dropout = 0 }).SetName("Plain");
        yield return new TestCaseData(new ElmoModuleOptions { Dropout = 0, DoLayerNorm = true }).SetName("LayerNorm");
        yield return new TestCaseData(new ElmoModuleOptions { Dropout = 0, DoLayerNorm = true, KeepSentenceBoundaries = true }).SetName("LayerNormKeepBoundaries");
        yield return new TestCaseData(new ElmoModuleOptions { Dropout = 0, KeepSentenceBoundaries = true }).SetName("KeepBoundaries");
        yield return new TestCaseData(new ElmoModuleOptions { Dropout = 0, TopLayerOnly = true }).SetName("TopLayerOnly");
        yield return new TestCaseData(new ElmoModuleOptions { Dropout = 0, TopLayerOnly = true, DoLayerNorm = true }).SetName("TopLayerOnlyLayerNorm");
        yield return new TestCaseData(new ElmoModuleOptions { Dropout = 0.3f, DoLayerNorm = true, Seed = 5 }).SetName("DropoutLayerNorm");
        yield return new TestCaseData(new ElmoModuleOptions { Dropout = 0, L2Coefficient = 0.05f }).SetName("L2Penalty");
    }

    [TestCaseSource(nameof(Settings))]
    public void AnalyticGradientsMatchFiniteDifferences(ElmoModuleOptions options)
    {
        var random = new Random(3);
        int layers = options.TopLayerOnly ? 1 : Layers.LayerCount;
        var weights = Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, layers).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToArray();
        float[] gammas = [0.7f, 1.6f];
        var probe = Build(options, weights, gammas);
        var upstream = probe.Representations.Select(r => r.Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToArray();

        // Analytic: one forward, one backward per representation.
        var module = new ElmoModule(Model.CreateSession(StateMode.Stateless), 2, options) { Training = true };
        Set(module, weights, gammas);
        var output = module.Forward(Layers);
        for (int k = 0; k < 2; k++) module.Backward(output, k, upstream[k]);

        double worst = 0;
        for (int k = 0; k < 2; k++)
        {
            var analyticW = module.Mixes[k].RegularizedWeightGradients();
            for (int l = 0; l <= layers; l++)
            {
                // Parameter l < layers is w_l, parameter `layers` is gamma.
                double analytic = l < layers ? analyticW[l] : module.Mixes[k].GammaGradient;
                double numeric = Numeric(options, weights, gammas, upstream, k, l);
                double error = Math.Abs(analytic - numeric) / Math.Max(1, Math.Abs(numeric));
                worst = Math.Max(worst, error);
                Assert.That(error, Is.LessThan(5e-4), $"mix {k}, {(l < layers ? $"w_{l}" : "gamma")}: analytic {analytic}, numeric {numeric}");
            }
        }
        TestContext.Out.WriteLine($"worst relative error {worst:G3}");
    }

    /// <summary>Central difference of the loss Σ_k Σ rep_k ⊙ upstream_k + Σ_k l2 Σ w_k² in one parameter.</summary>
    private static double Numeric(ElmoModuleOptions options, float[][] weights, float[] gammas, float[][] upstream, int mix, int parameter)
    {
        const float h = 1e-2f;
        double Loss(float delta, out float actual)
        {
            var w = weights.Select(a => a.ToArray()).ToArray();
            var g = gammas.ToArray();
            ref float p = ref parameter < w[mix].Length ? ref w[mix][parameter] : ref g[mix];
            float before = p;
            p += delta;
            actual = p - before;
            var output = Build(options, w, g);
            double loss = 0;
            for (int k = 0; k < 2; k++)
            {
                for (int i = 0; i < upstream[k].Length; i++) loss += (double)output.Representations[k][i] * upstream[k][i];
                foreach (float v in w[k]) loss += options.L2Coefficient * (double)v * v;
            }
            return loss;
        }
        double plus = Loss(h, out float up), minus = Loss(-h, out float down);
        return (plus - minus) / ((double)up - down);
    }

    /// <summary>A fresh module (so the dropout draws repeat) with the given parameters, run on the fixed biLM output.</summary>
    private static ElmoModuleOutput Build(ElmoModuleOptions options, float[][] weights, float[] gammas)
    {
        var module = new ElmoModule(Model.CreateSession(StateMode.Stateless), 2, options) { Training = true };
        Set(module, weights, gammas);
        return module.Forward(Layers);
    }

    private static void Set(ElmoModule module, float[][] weights, float[] gammas)
    {
        for (int k = 0; k < 2; k++)
        {
            weights[k].CopyTo(module.Mixes[k].Weights, 0);
            module.Mixes[k].Gamma = gammas[k];
        }
    }
}
