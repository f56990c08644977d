namespace Elmo.Core;

/// <summary>
/// Stochastic gradient descent as PyTorch's <c>torch.optim.SGD</c>: <c>b = μ·b + g</c> (b starts at 0, so b = g on the first step),
/// <c>p ← p − lr·b</c>; with momentum μ = 0 this is <c>p ← p − lr·g</c>.
/// </summary>
public sealed class SgdOptimizer : MixOptimizer
{
    private readonly float[][] _velocity;

    /// <summary>Creates the optimizer.</summary>
    /// <param name="mixes">The mixes to train.</param>
    /// <param name="learningRate">The step size.</param>
    /// <param name="momentum">Momentum μ in [0, 1).</param>
    public SgdOptimizer(IEnumerable<ScalarMix> mixes, float learningRate, float momentum = 0f) : base(mixes, learningRate)
    {
        if (!(momentum >= 0 && momentum < 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Momentum must be in [0, 1).");
        Momentum = momentum;
        _velocity = Mixes.Select(m => new float[m.LayerCount + 1]).ToArray();
    }

    /// <summary>Momentum μ.</summary>
    public float Momentum { get; }

    /// <inheritdoc/>
    protected override void Update(int mix, Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        var b = _velocity[mix];
        for (int i = 0; i < parameters.Length; i++)
        {
            b[i] = Momentum * b[i] + gradients[i];
            parameters[i] -= LearningRate * b[i];
        }
    }
}
