using System.Globalization;
using Elmo.Core;

namespace Elmo.Examples.Tagger;

/// <summary>
/// ELMo as part of a larger model, end to end: a token tagger (<see cref="WindowTagger"/>) trained on a generated
/// part-of-speech-like task (<see cref="TaggedCorpus"/>) with the two scalar mixes of an <see cref="ElmoModule"/>
/// trained jointly: the task loss's gradients with respect to the two representations go through
/// <see cref="ElmoModule.Backward"/> into each mix's weights and gamma. The biLM itself is frozen, so its layers are
/// computed once per batch and the mixes are re-applied at every step.
/// </summary>
public static class TaggerExample
{
    private const int BatchSize = 16;

    /// <summary>Trains and prints a table every <paramref name="printEvery"/> epochs.</summary>
    /// <param name="model">The biLM (the demo model is enough to see every effect).</param>
    /// <param name="output">Where the table goes.</param>
    /// <param name="epochs">Passes over the training set.</param>
    /// <param name="printEvery">Epochs between printed lines.</param>
    /// <returns>A snapshot before training, then one per printed line (the last after the final epoch).</returns>
    public static IReadOnlyList<TaggerSnapshot> Run(ElmoModel model, TextWriter output, int epochs = 12, int printEvery = 2)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(epochs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(printEvery, 1);

        var train = Batches(TaggedCorpus.Generate(320, seed: 1));
        var test = Batches(TaggedCorpus.Generate(80, seed: 2));

        // ELMo with two representations (AllenNLP's num_output_representations = 2), warm states (the default),
        // light dropout while training; the frozen biLM runs once per batch.
        var elmo = new ElmoModule(model, representations: 2, new ElmoModuleOptions { Dropout = 0.1f, Seed = 7 });
        var layers = train.Concat(test).Select(b => elmo.Session.Run(b.Select(s => (IReadOnlyList<string>)s.Tokens).ToList())).ToList();
        var trainLayers = layers.Take(train.Count).ToList();
        var testLayers = layers.Skip(train.Count).ToList();

        var tagger = new WindowTagger(model.Options.OutputDim, hidden: 32, TaggedCorpus.TagNames.Count, seed: 3);
        var mixes = new AdamOptimizer(elmo.Mixes, learningRate: 0.05f);
        const float taggerRate = 0.01f;

        int l = model.Options.OutputLayers;
        output.WriteLine($"A tagger over two ELMo representations of a biLM with {l} layers (0 = token vectors, 1..{l - 1} = contextual):");
        output.WriteLine("r0 feeds the tagger's input window, r1 its output layer; both mixes train with the tagger.");
        output.WriteLine();
        string header = $"{"epoch",5}  {"train loss",10}  {"test loss",9}  {"test acc",8}  {"ambiguous",9}  {"softmax(w) of mix 0",-22}  {"softmax(w) of mix 1",-22}  {"gamma 0",7}  {"gamma 1",7}  {"max|r0-r1|",10}";
        output.WriteLine(header);
        output.WriteLine(new string('-', header.Length));

        var snapshots = new List<TaggerSnapshot>();
        var random = new Random(5);
        double trainLoss = Evaluate(elmo, tagger, train, trainLayers).Loss;
        Record(0);
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            elmo.Training = true;
            double lossSum = 0;
            int tokens = 0;
            foreach (int i in Enumerable.Range(0, train.Count).OrderBy(_ => random.Next()))
            {
                // Forward: mix the biLM's layers into r0 and r1 (batch, T, D); the tagger's loss and dL/dr0, dL/dr1.
                var representations = elmo.Forward(trainLayers[i]);
                int n = train[i].Sum(s => s.Tokens.Length);
                var (g0, g1) = (new float[representations.Representations[0].Length], new float[representations.Representations[1].Length]);
                lossSum += tagger.Train(representations, train[i], n, g0, g1).Loss;
                tokens += n;

                // Backward into the mixes, then one step for the tagger and one for the mixes.
                elmo.Backward(representations, 0, g0);
                elmo.Backward(representations, 1, g1);
                tagger.Step(taggerRate);
                mixes.Step();
                mixes.ZeroGradients();
            }
            elmo.Training = false;
            trainLoss = lossSum / tokens;
            if (epoch % printEvery == 0 || epoch == epochs) Record(epoch);
        }

        var last = snapshots[^1];
        output.WriteLine();
        output.WriteLine(FormattableString.Invariant(
            $"The task loss fell from {snapshots[0].TestLoss:0.000} to {last.TestLoss:0.000} (held out) and accuracy rose from {snapshots[0].TestAccuracy:P1} to {last.TestAccuracy:P1}; the two representations started identical (max|r0-r1| = 0) and ended {last.RepresentationDifference:0.000} apart, their mixes {last.Distance:0.000} apart."));
        return snapshots;

        void Record(int epoch)
        {
            var (testLoss, accuracy, ambiguous) = Evaluate(elmo, tagger, test, testLayers);
            var probe = elmo.Forward(testLayers[0]);
            double difference = 0;
            for (int i = 0; i < probe.Representations[0].Length; i++)
            {
                difference = Math.Max(difference, Math.Abs(probe.Representations[0][i] - probe.Representations[1][i]));
            }
            var snapshot = new TaggerSnapshot(epoch, trainLoss, testLoss, accuracy, ambiguous,
                elmo.Mixes.Select(m => m.NormalizedWeights()).ToArray(), elmo.Mixes.Select(m => m.Gamma).ToArray(), difference);
            snapshots.Add(snapshot);
            static string Format(float[] w) => "[" + string.Join(" ", w.Select(v => v.ToString("0.000", CultureInfo.InvariantCulture))) + "]";
            output.WriteLine(FormattableString.Invariant(
                $"{epoch,5}  {trainLoss,10:0.000}  {testLoss,9:0.000}  {accuracy,8:P1}  {ambiguous,9:P1}  {Format(snapshot.Weights[0]),-22}  {Format(snapshot.Weights[1]),-22}  {snapshot.Gammas[0],7:0.000}  {snapshot.Gammas[1],7:0.000}  {difference,10:0.000}"));
        }
    }

    /// <summary>Mean loss per token, accuracy, and accuracy on the ambiguous words, without training.</summary>
    private static (double Loss, double Accuracy, double Ambiguous) Evaluate(ElmoModule elmo, WindowTagger tagger, List<List<TaggedSentence>> batches, List<BiLmOutput> layers)
    {
        double loss = 0;
        int tokens = 0, correct = 0, ambiguous = 0, ambiguousCorrect = 0;
        for (int i = 0; i < batches.Count; i++)
        {
            var representations = elmo.Forward(layers[i]);
            int n = batches[i].Sum(s => s.Tokens.Length);
            var (g0, g1) = (new float[representations.Representations[0].Length], new float[representations.Representations[1].Length]);
            loss += tagger.Train(representations, batches[i], n, g0, g1).Loss;
            tokens += n;
            for (int b = 0; b < batches[i].Count; b++)
            {
                var sentence = batches[i][b];
                var predicted = tagger.Predict(representations, b, sentence.Tokens.Length);
                for (int t = 0; t < predicted.Length; t++)
                {
                    bool right = predicted[t] == sentence.Tags[t];
                    correct += right ? 1 : 0;
                    if (!sentence.Ambiguous[t]) continue;
                    ambiguous++;
                    ambiguousCorrect += right ? 1 : 0;
                }
            }
        }
        tagger.ZeroGradients();
        return (loss / tokens, (double)correct / tokens, ambiguous == 0 ? 1 : (double)ambiguousCorrect / ambiguous);
    }

    private static List<List<TaggedSentence>> Batches(List<TaggedSentence> sentences) =>
        sentences.Chunk(BatchSize).Select(c => c.ToList()).ToList();
}
