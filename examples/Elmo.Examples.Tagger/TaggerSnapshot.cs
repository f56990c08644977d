namespace Elmo.Examples.Tagger;

/// <summary>Where training stands after an epoch.</summary>
/// <param name="Epoch">Epochs done (0: before training).</param>
/// <param name="TrainLoss">Mean cross-entropy per token on the training set (during the epoch; before training, measured without updates).</param>
/// <param name="TestLoss">Mean cross-entropy per token on the held-out set.</param>
/// <param name="TestAccuracy">Held-out tokens tagged right.</param>
/// <param name="AmbiguousAccuracy">Held-out noun-or-verb words ("flies", "watches", …) tagged right: only context tells them apart.</param>
/// <param name="Weights">Per representation: softmax(w) of its mix, one value per biLM layer.</param>
/// <param name="Gammas">Per representation: gamma.</param>
/// <param name="RepresentationDifference">max |r0 − r1| over the first held-out batch: 0 while the two representations are identical.</param>
public sealed record TaggerSnapshot(int Epoch, double TrainLoss, double TestLoss, double TestAccuracy, double AmbiguousAccuracy, float[][] Weights, float[] Gammas, double RepresentationDifference)
{
    /// <summary>Σ_l |s0_l − s1_l|: 0 while the two mixes are equal.</summary>
    public double Distance => Weights[0].Zip(Weights[1], (a, b) => (double)Math.Abs(a - b)).Sum();
}
