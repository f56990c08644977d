using System.Text.RegularExpressions;
using Elmo.Tests.Cli;

namespace Elmo.Tests.Serving;

/// <summary><c>elmo bench --serve</c> reports every figure it promises and checks the server's answers (tiny model; ~3 s).</summary>
[NonParallelizable]
public partial class ServeBenchTests
{
    [Test]
    public void ReportsOfflineServerAndIdleFiguresAndVerifiesTheAnswers()
    {
        using var dir = new TempDir();
        string corpus = dir.Write("corpus.txt", string.Join("\n", Enumerable.Range(0, 12).Select(i => string.Join(' ', Enumerable.Range(0, 3 + i).Select(t => $"w{t}")))) + "\n");
        var result = CliHarness.Run("bench", "--preset", "tiny", "--corpus", corpus, "--serve", "--clients", "1,3", "--request-sentences", "2", "--latency-sentences", "3", "--repetitions", "2", "--batch-size", "4");
        Assert.That(result.Exit, Is.Zero, result.ToString());
        string o = result.Out;
        Assert.That(o, Does.Contain("corpus: 12 sentences, 102 tokens; output top, warm state; offline batch size 4; server: batches of at most 4 sentences, requests of 2 sentences, answers as application/json"));
        Assert.That(Regex.Matches(o, @"round \d/2: offline elmo embed \d+ tokens/s \([\d.]+ s; CPU [\d.]+ s, \d+ tokens per CPU-second\)"), Has.Count.EqualTo(2));
        Assert.That(Regex.Matches(o, @"round \d/2: server,  3 client\(s\): \d+ tokens/s \([\d.]+ s; CPU [\d.]+ s, \d+ tokens per CPU-second\), latency p50 [\d.]+ s, p99 [\d.]+ s, mean batch [\d.]+ sentences, 0 errors"), Has.Count.EqualTo(2));
        Assert.That(o, Does.Match(@"offline elmo embed \(batch 4\): median \d+ tokens/s \(min \d+, max \d+\); \d+ tokens per CPU-second"));
        Assert.That(o, Does.Match(@"server,  1 client\(s\): median \d+ tokens/s = \d+ ?% of offline \(median of the per-round ratios \d+ ?%\); \d+ tokens per CPU-second = \d+ ?% of offline; latency p50 [\d.]+ s, p99 [\d.]+ s; mean batch 2\.0 sentences; errors 0"));
        Assert.That(o, Does.Match(@"idle single-sentence latency \(first 3 sentences\): server p50 [\d.]+ s = [\d.]+x the library's batch-1 [\d.]+ s"));
        Assert.That(o, Does.Contain("verified: 12 sentences answered by the server are bit for bit those of the offline elmo embed output"));
    }

    [TestCase("--serve --clients 0", "--clients: '0' is not a count between 1 and 1024.")]
    [TestCase("--serve --sort-by-length", "--sort-by-length does not go with --serve")]
    [TestCase("--clients 4", "go with --serve")]
    [TestCase("--serve --request-sentences 0", "--request-sentences must be at least 1, got 0.")]
    public void BadFlagsAreUsageErrors(string flags, string message)
    {
        var result = CliHarness.Run(["bench", "--preset", "tiny", .. flags.Split(' ')]);
        Assert.That(result.Exit, Is.EqualTo(2), result.ToString());
        Assert.That(result.Err, Does.Contain(message));
    }
}
