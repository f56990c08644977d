// Compares the three state modes on a corpus: for every sentence and every contextual layer, the mean cosine
// similarity (over tokens) between the vectors that stateless, stateful and warm mode give the same tokens.
//
//   dotnet run -c Release --project examples/Elmo.Examples.StateModes -- [corpus.txt] [preset|options.json weights.hdf5] [max-sentences]
//
// Defaults: ../shared/bench/corpus.txt, the `small` preset with random weights (seed 1), all sentences.
using System.Diagnostics;
using System.Globalization;
using Elmo.Core;

string corpus = args.Length > 0 ? args[0] : Path.Combine("..", "shared", "bench", "corpus.txt");
ElmoModel model;
string modelName;
int next = 2;
if (args.Length > 2 && args[1].EndsWith(".json", StringComparison.OrdinalIgnoreCase))
{
    model = ElmoModel.Load(args[1], args[2]);
    modelName = Path.GetFileName(args[2]);
    next = 3;
}
else
{
    string preset = args.Length > 1 ? args[1] : "small";
    model = new ElmoModel(RandomWeights.Create(ModelPresets.Get(preset), 1));
    modelName = $"preset '{preset}', random weights (seed 1)";
}
int max = args.Length > next ? int.Parse(args[next], CultureInfo.InvariantCulture) : int.MaxValue;

var sentences = File.ReadLines(corpus)
    .Select(l => (IReadOnlyList<string>)l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
    .Where(s => s.Count > 0)
    .Take(max)
    .ToList();
Console.WriteLine($"corpus: {corpus}, {sentences.Count} sentences, {sentences.Sum(s => s.Count)} tokens; model: {modelName}");

var watch = Stopwatch.StartNew();
var warm = WarmStart.ComputeBuiltIn(model);
var stateless = Embed(model.CreateSession(StateMode.Stateless), sentences);
var stateful = Embed(model.CreateSession(StateMode.Stateful), sentences);
var warmed = Embed(model.CreateSession(StateMode.Warm, warm), sentences);
Console.WriteLine($"embedded three times in {watch.Elapsed.TotalSeconds:F1} s (batch 64; stateful carries state row by row, as AllenNLP's elmo command does)");
Console.WriteLine();

int layers = model.Options.OutputLayers, d = model.Options.OutputDim;
Console.WriteLine("mean cosine similarity of the same token's vectors (mean over sentences of the mean over tokens; min over sentences in brackets)");
Console.WriteLine();
Console.WriteLine("| layer | stateless vs warm | stateless vs stateful | warm vs stateful |");
Console.WriteLine("| --- | --- | --- | --- |");
for (int l = 0; l < layers; l++)
{
    Console.WriteLine($"| {l} | {Stat(stateless, warmed, l)} | {Stat(stateless, stateful, l)} | {Stat(warmed, stateful, l)} |");
}

string Stat(List<float[]> a, List<float[]> b, int layer)
{
    var perSentence = new List<double>();
    for (int s = 0; s < a.Count; s++)
    {
        int n = sentences[s].Count;
        double sum = 0;
        for (int t = 0; t < n; t++)
        {
            var x = a[s].AsSpan((layer * n + t) * d, d);
            var y = b[s].AsSpan((layer * n + t) * d, d);
            sum += Cosine(x, y);
        }
        perSentence.Add(sum / n);
    }
    return string.Create(CultureInfo.InvariantCulture, $"{perSentence.Average():F4} ({perSentence.Min():F4})");
}

static double Cosine(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
{
    double xy = 0, xx = 0, yy = 0;
    for (int i = 0; i < x.Length; i++)
    {
        xy += (double)x[i] * y[i];
        xx += (double)x[i] * x[i];
        yy += (double)y[i] * y[i];
    }
    return xx == 0 || yy == 0 ? (xx == yy ? 1 : 0) : xy / Math.Sqrt(xx * yy);
}

static List<float[]> Embed(ElmoSession session, List<IReadOnlyList<string>> sentences)
{
    var result = new List<float[]>(sentences.Count);
    for (int start = 0; start < sentences.Count; start += 64)
    {
        var batch = sentences.Skip(start).Take(64).ToList();
        var output = session.Run(batch);
        for (int b = 0; b < batch.Count; b++) result.Add(output.SentenceLayers(b));
    }
    return result;
}
