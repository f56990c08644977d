using Elmo.Core;

namespace Elmo.Examples.MixTraining;

/// <summary>The weights of both mixes (after the softmax) and their gammas at one training step.</summary>
/// <param name="Step">Optimizer steps taken.</param>
/// <param name="Weights">Per mix: softmax(w), one value per biLM layer.</param>
/// <param name="Gammas">Per mix: gamma.</param>
/// <param name="Losses">Per mix: the loss of its objective on the last step's batch (NaN before the first step).</param>
public sealed record MixSnapshot(int Step, float[][] Weights, float[] Gammas, double[] Losses)
{
    /// <summary>Σ_l |s0_l − s1_l|: 0 while the two mixes are equal, up to 2 when they pick different layers.</summary>
    public double Distance => Weights[0].Zip(Weights[1], (a, b) => (double)Math.Abs(a - b)).Sum();
}

/// <summary>
/// Trains the two scalar mixes of an <see cref="ElmoModule"/> with <c>num_output_representations = 2</c> on two
/// different toy objectives and shows their weights moving apart from the same starting point:
/// <list type="bullet">
/// <item>representation 0, "word identity": reproduce the context-independent token vector (biLM layer 0), as a
/// task that only needs to know which word is there (the kind of signal a task model's input layer wants);</item>
/// <item>representation 1, "context": reproduce the top contextual biLM layer, as a task that needs what the
/// sentence says around the word (the kind of signal a task model's output layer wants).</item>
/// </list>
/// Both start at softmax(0) = uniform weights and gamma 1, so the two representations are identical at step 0.
/// </summary>
public static class MixTrainingExample
{
    /// <summary>A small corpus; batches of four sentences in turn.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Corpus { get; } =
    [
        ["The", "bank", "raised", "interest", "rates", "on", "Tuesday", "."],
        ["We", "sat", "on", "the", "bank", "of", "the", "river", "."],
        ["She", "plays", "the", "bass", "in", "a", "jazz", "band", "."],
        ["He", "caught", "a", "bass", "in", "the", "lake", "."],
        ["Time", "flies", "like", "an", "arrow", "."],
        ["Fruit", "flies", "like", "a", "banana", "."],
        ["The", "old", "man", "the", "boats", "."],
        ["ELMo", "gives", "every", "token", "a", "vector", "that", "depends", "on", "its", "sentence", "."],
    ];

    /// <summary>Trains, printing a table of the weights every <paramref name="printEvery"/> steps.</summary>
    /// <param name="model">The biLM (the tiny random model is enough to see the effect).</param>
    /// <param name="output">Where the table goes.</param>
    /// <param name="steps">Optimizer steps.</param>
    /// <param name="printEvery">Steps between printed lines.</param>
    /// <returns>A snapshot before training, then one per printed line (the last after the final step).</returns>
    public static IReadOnlyList<MixSnapshot> Run(ElmoModel model, TextWriter output, int steps = 120, int printEvery = 20)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(printEvery, 1);

        // Two representations, light dropout while training (seeded, so every run prints the same numbers).
        var elmo = new ElmoModule(model.CreateSession(StateMode.Stateless), representations: 2, new ElmoModuleOptions { Dropout = 0.1f, Seed = 42 })
        {
            Training = true,
        };
        var optimizer = new AdamOptimizer(elmo.Mixes, learningRate: 0.05f);
        int layers = model.Options.OutputLayers;

        output.WriteLine($"Training two scalar mixes over the {layers} layers of a biLM (layer 0 = token vectors, layers 1…{layers - 1} = contextual).");
        output.WriteLine("Mix 0 learns to reproduce layer 0 (word identity), mix 1 the top layer (context).");
        output.WriteLine();
        string header = $"{"step",5}  {"softmax(w) of mix 0",-24}  {"softmax(w) of mix 1",-24}  {"gamma 0",7}  {"gamma 1",7}  {"loss 0",8}  {"loss 1",8}  {"|s0 − s1|",9}";
        output.WriteLine(header);
        output.WriteLine(new string('-', header.Length));

        var snapshots = new List<MixSnapshot>();
        double[] losses = [double.NaN, double.NaN];
        void Print(int step)
        {
            var snapshot = new MixSnapshot(step, elmo.Mixes.Select(m => m.NormalizedWeights()).ToArray(), elmo.Mixes.Select(m => m.Gamma).ToArray(), losses.ToArray());
            snapshots.Add(snapshot);
            static string Loss(double v) => double.IsNaN(v) ? "-" : v.ToString("0.00e0", System.Globalization.CultureInfo.InvariantCulture);
            static string Format(float[] w) => "[" + string.Join(" ", w.Select(v => v.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture))) + "]";
            output.WriteLine(FormattableString.Invariant(
                $"{step,5}  {Format(snapshot.Weights[0]),-24}  {Format(snapshot.Weights[1]),-24}  {snapshot.Gammas[0],7:0.000}  {snapshot.Gammas[1],7:0.000}  {Loss(losses[0]),8}  {Loss(losses[1]),8}  {snapshot.Distance,9:0.000}"));
        }

        Print(0);
        const int batchSize = 4;
        for (int step = 1; step <= steps; step++)
        {
            int start = (step - 1) * batchSize % Corpus.Count;
            var batch = Corpus.Skip(start).Take(batchSize).ToList();

            // One biLM run, two representations (batch, T, D) without the boundary positions.
            var result = elmo.Forward(batch);
            var biLm = result.BiLm.WithoutBoundaries();
            int size = result.BatchSize * result.Timesteps * result.Dim;
            var targets = new[]
            {
                biLm.Layers.AsSpan(0, size).ToArray(),                   // layer 0: the word's own vector
                biLm.Layers.AsSpan((layers - 1) * size, size).ToArray(), // top layer: the word in its context
            };

            // Mean squared error of each representation against its target; dL/d(representation) = 2 (r − t) / N.
            int values = result.Lengths.Sum() * result.Dim;
            for (int k = 0; k < 2; k++)
            {
                var r = result.Representations[k];
                var gradient = new float[size];
                double loss = 0;
                for (int i = 0; i < size; i++)
                {
                    double diff = r[i] - targets[k][i];
                    loss += diff * diff / values;
                    gradient[i] = (float)(2 * diff / values);
                }
                losses[k] = loss;
                elmo.Backward(result, k, gradient);
            }
            optimizer.Step();
            optimizer.ZeroGradients();

            if (step % printEvery == 0 || step == steps) Print(step);
        }

        output.WriteLine();
        output.WriteLine(FormattableString.Invariant(
            $"The two mixes started equal (distance 0) and ended {snapshots[^1].Distance:0.000} apart: mix 0 leans on layer {ArgMax(snapshots[^1].Weights[0])}, mix 1 on layer {ArgMax(snapshots[^1].Weights[1])}."));
        return snapshots;
    }

    private static int ArgMax(float[] values) => Array.IndexOf(values, values.Max());
}
