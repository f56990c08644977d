namespace Elmo.Core;

/// <summary>
/// A first-order optimizer over the parameters of scalar mixes (the pre-softmax weights and gamma of each
/// <see cref="ScalarMix"/>), so that mixes can be trained without another library. Use as in PyTorch: run the
/// forward pass, call <c>Backward</c> to accumulate gradients, then <see cref="Step"/> and
/// <see cref="ZeroGradients"/>. Mixes whose <see cref="ScalarMix.Trainable"/> is false are left unchanged.
/// </summary>
public abstract class MixOptimizer
{
    private readonly float[][] _parameters;
    private readonly float[][] _gradients;

    /// <summary>Creates an optimizer for <paramref name="mixes"/>.</summary>
    /// <param name="mixes">The mixes to train (at least one; no duplicates).</param>
    /// <param name="learningRate">The step size (&gt; 0).</param>
    protected MixOptimizer(IEnumerable<ScalarMix> mixes, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(mixes);
        var list = mixes.ToList();
        if (list.Count == 0) throw new ArgumentException("No mixes to optimize.", nameof(mixes));
        if (list.Any(m => m is null)) throw new ArgumentException("A mix is null.", nameof(mixes));
        if (list.Distinct(ReferenceEqualityComparer.Instance).Count() != list.Count)
        {
            throw new ArgumentException("The same mix is listed twice.", nameof(mixes));
        }
        Mixes = list;
        LearningRate = learningRate;
        _parameters = list.Select(m => new float[m.LayerCount + 1]).ToArray();
        _gradients = list.Select(m => new float[m.LayerCount + 1]).ToArray();
    }

    /// <summary>The mixes this optimizer updates.</summary>
    public IReadOnlyList<ScalarMix> Mixes { get; }

    /// <summary>The step size.</summary>
    public float LearningRate
    {
        get;
        set
        {
            if (!float.IsFinite(value) || value <= 0) throw new ArgumentOutOfRangeException(nameof(value), value, "The learning rate must be finite and > 0.");
            field = value;
        }
    }

    /// <summary>Number of steps taken.</summary>
    public long Steps { get; private set; }

    /// <summary>
    /// Updates every trainable mix from its accumulated gradients: <see cref="ScalarMix.RegularizedWeightGradients"/>
    /// (the data gradient plus the L2 penalty's) for the weights and <see cref="ScalarMix.GammaGradient"/> for gamma.
    /// Gradients are not cleared; call <see cref="ZeroGradients"/> before the next accumulation.
    /// </summary>
    /// <exception cref="InvalidOperationException">A gradient is NaN or infinite (nothing is updated).</exception>
    public void Step()
    {
        for (int k = 0; k < Mixes.Count; k++)
        {
            var mix = Mixes[k];
            var g = _gradients[k];
            mix.RegularizedWeightGradients().CopyTo(g, 0);
            g[^1] = mix.GammaGradient;
            if (g.Any(v => !float.IsFinite(v)))
            {
                throw new InvalidOperationException($"Mix {k} has a non-finite gradient; no parameter was updated.");
            }
        }
        Steps++;
        for (int k = 0; k < Mixes.Count; k++)
        {
            var mix = Mixes[k];
            if (!mix.Trainable) continue;
            var p = _parameters[k];
            mix.Weights.CopyTo(p, 0);
            p[^1] = mix.Gamma;
            Update(k, p, _gradients[k]);
            p.AsSpan(0, mix.LayerCount).CopyTo(mix.Weights);
            mix.Gamma = p[^1];
        }
    }

    /// <summary>Clears the accumulated gradients of every mix.</summary>
    public void ZeroGradients()
    {
        foreach (var mix in Mixes) mix.ZeroGradients();
    }

    /// <summary>
    /// Updates one mix's parameters in place: <c>[w_0 … w_{L−1}, gamma]</c> from their gradients.
    /// <see cref="Steps"/> already counts this step.
    /// </summary>
    /// <param name="mix">Index of the mix in <see cref="Mixes"/> (for per-mix optimizer state).</param>
    /// <param name="parameters">The parameters, updated in place.</param>
    /// <param name="gradients">Their gradients.</param>
    protected abstract void Update(int mix, Span<float> parameters, ReadOnlySpan<float> gradients);
}
