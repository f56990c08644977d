namespace Elmo.Core;

/// <summary>
/// Adam as PyTorch's <c>torch.optim.Adam</c>: <c>m = β₁m + (1−β₁)g</c>, <c>v = β₂v + (1−β₂)g²</c>,
/// <c>p ← p − lr · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)</c>.
/// </summary>
public sealed class AdamOptimizer : MixOptimizer
{
    private readonly float[][] _m;
    private readonly float[][] _v;

    /// <summary>Creates the optimizer.</summary>
    /// <param name="mixes">The mixes to train.</param>
    /// <param name="learningRate">The step size (PyTorch's default is 0.001).</param>
    /// <param name="beta1">Decay of the first moment, in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator (&gt; 0).</param>
    public AdamOptimizer(IEnumerable<ScalarMix> mixes, float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f)
        : base(mixes, learningRate)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "beta1 must be in [0, 1).");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "beta2 must be in [0, 1).");
        if (!(epsilon > 0 && float.IsFinite(epsilon))) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be finite and > 0.");
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        _m = Mixes.Select(m => new float[m.LayerCount + 1]).ToArray();
        _v = Mixes.Select(m => new float[m.LayerCount + 1]).ToArray();
    }

    /// <summary>β₁.</summary>
    public float Beta1 { get; }

    /// <summary>β₂.</summary>
    public float Beta2 { get; }

    /// <summary>ε.</summary>
    public float Epsilon { get; }

    /// <inheritdoc/>
    protected override void Update(int mix, Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        var m = _m[mix];
        var v = _v[mix];
        double c1 = 1 - Math.Pow(Beta1, Steps), c2 = 1 - Math.Pow(Beta2, Steps);
        for (int i = 0; i < parameters.Length; i++)
        {
            float g = gradients[i];
            m[i] = Beta1 * m[i] + (1 - Beta1) * g;
            v[i] = Beta2 * v[i] + (1 - Beta2) * g * g;
            parameters[i] -= (float)(LearningRate * (m[i] / c1) / (Math.Sqrt(v[i] / c2) + Epsilon));
        }
    }
}
