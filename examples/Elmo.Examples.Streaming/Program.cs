using System.Diagnostics;
using System.Globalization;
using Elmo.Core;

// Streams generated short sentences through ElmoEmbedder.EmbedSentences and reports throughput and the peak resident
// memory above the loaded model (docs/performance.md, "Streaming with ElmoEmbedder").
//
// Usage: dotnet run -c Release --project examples/Elmo.Examples.Streaming -- MODEL COUNT [BATCH] [all|top|average]
//   MODEL: demo, a preset with random weights (tiny, small, medium, original), or OPTIONS.json,WEIGHTS.hdf5
// The peak is the kernel's VmHWM of this process, reset (/proc/self/clear_refs) once the model and its warm state are
// loaded, so it counts what streaming adds: sessions, batch outputs, the sorting window, results and garbage.
if (args.Length is < 2 or > 4)
{
    Console.Error.WriteLine("usage: Elmo.Examples.Streaming MODEL COUNT [BATCH] [all|top|average]");
    return 2;
}
long count = long.Parse(args[1], CultureInfo.InvariantCulture);
int batchSize = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : ElmoEmbedder.DefaultBatchSize;
var layers = (args.Length > 3 ? args[3] : "all") switch
{
    "top" => LayerChoice.Top,
    "average" => LayerChoice.Average,
    _ => LayerChoice.All,
};

var model = args[0] switch
{
    "demo" => ElmoModel.Demo(),
    var path when path.Contains(',') => ElmoModel.Load(path.Split(',')[0], path.Split(',')[1]),
    var preset => new ElmoModel(RandomWeights.Create(ModelPresets.Get(preset), seed: 1)),
};
var embedder = new ElmoEmbedder(model);
_ = embedder.Sessions.WarmState;                         // the warm state is part of loading the model
GC.Collect();
long modelRss = Rss("VmRSS");
bool reset = ResetPeak();

// 3 to 10 tokens per sentence from a vocabulary of 5,000 made-up words, generated lazily: nothing is stored.
static IEnumerable<IReadOnlyList<string>> Sentences(long count)
{
    var random = new Random(1);
    for (long i = 0; i < count; i++)
    {
        var tokens = new string[random.Next(3, 11)];
        for (int t = 0; t < tokens.Length; t++) tokens[t] = "w" + random.Next(5000).ToString(CultureInfo.InvariantCulture);
        yield return tokens;
    }
}

var watch = Stopwatch.StartNew();
long sentences = 0, tokens = 0;
double checksum = 0;
foreach (var result in embedder.EmbedSentences(Sentences(count), batchSize, layers))
{
    sentences++;
    tokens += result.TokenCount;
    checksum += result.Values[^1];
    if (sentences % 100_000 == 0)
    {
        Console.Error.WriteLine(FormattableString.Invariant($"{sentences:N0} sentences, {watch.Elapsed.TotalSeconds:F0} s, peak {Rss("VmHWM") / 1e6:F1} MB, now {Rss("VmRSS") / 1e6:F1} MB"));
    }
}
double seconds = watch.Elapsed.TotalSeconds;
long peak = Rss("VmHWM");
Console.WriteLine(FormattableString.Invariant($"model {args[0]}: {model.Options.Lstm.CellDim}/{model.Options.Lstm.ProjectionDim}, {model.Weights.SizeInBytes / 1e6:F1} MB of weights; layers {layers}, batch {batchSize}, {embedder.SortWindowBatches} batches per window"));
Console.WriteLine(FormattableString.Invariant($"{sentences:N0} sentences, {tokens:N0} tokens in {seconds:F1} s: {sentences / seconds:F0} sentences/s, {tokens / seconds:F0} tokens/s (checksum {checksum:G6})"));
Console.WriteLine(FormattableString.Invariant($"resident after loading the model: {modelRss / 1e6:F1} MB; peak while streaming: {peak / 1e6:F1} MB{(reset ? "" : " (whole process: the peak could not be reset)")}; above the model: {(peak - modelRss) / 1e6:F1} MB"));
Console.WriteLine(FormattableString.Invariant($"sessions created {embedder.Sessions.SessionsCreated}; GC collections gen0 {GC.CollectionCount(0)}, gen1 {GC.CollectionCount(1)}, gen2 {GC.CollectionCount(2)}"));
return 0;

// VmRSS / VmHWM of this process, in bytes.
static long Rss(string field)
{
    foreach (string line in File.ReadLines("/proc/self/status"))
    {
        if (line.StartsWith(field + ":", StringComparison.Ordinal))
        {
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
    }
    return 0;
}

// Resets VmHWM to the current resident size (Linux: "5" > /proc/PID/clear_refs).
static bool ResetPeak()
{
    try
    {
        File.WriteAllText("/proc/self/clear_refs", "5");
        return true;
    }
    catch (IOException)
    {
        return false;
    }
    catch (UnauthorizedAccessException)
    {
        return false;
    }
}
