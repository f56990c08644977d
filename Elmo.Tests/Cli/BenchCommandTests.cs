using System.Globalization;
using System.Text.RegularExpressions;
using Elmo.Tests.Support;

namespace Elmo.Tests.Cli;

/// <summary><c>elmo bench</c>: the figures it prints are consistent with the corpus and the passes, and bad flags are usage errors.</summary>
public partial class BenchCommandTests
{
    [Test]
    public void ReportsPassesMediansStagesAndMemory()
    {
        using var dir = new TempDir();
        string corpus = dir.Write("corpus.txt", "The cat sat on the mat .\n\nA dog barked .\nIt rained all day long in the town .\nHi\n");

        var result = CliHarness.Run("bench", "--preset", "tiny", "--corpus", corpus, "--batch-size", "2", "--repetitions", "3", "--threads", "1");

        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        string o = result.Out;
        Assert.That(o, Does.Contain("4 sentences, 21 tokens; batch size 2, 2 batches, file order, stateless"), "blank lines skipped, tokens counted");
        Assert.That(o, Does.Contain("threads 1"));
        var passes = Pass().Matches(o);
        Assert.That(passes, Has.Count.EqualTo(3), o);
        var seconds = passes.Select(m => double.Parse(m.Groups["s"].Value, CultureInfo.InvariantCulture)).Order().ToArray();
        foreach (Match m in passes)
        {
            double s = double.Parse(m.Groups["s"].Value, CultureInfo.InvariantCulture);
            double stages = new[] { "cnn", "hw", "lstm", "other" }.Sum(g => double.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture));
            Assert.That(stages, Is.LessThanOrEqualTo(s + 0.02), $"the stages fit in the pass: {m.Value}");
        }
        var median = Median().Match(o);
        Assert.That(median.Success, o);
        Assert.That(int.Parse(median.Groups["n"].Value), Is.EqualTo(3));
        Assert.That(double.Parse(median.Groups["s"].Value, CultureInfo.InvariantCulture), Is.EqualTo(seconds[1]).Within(0.006), "the median pass");
        Assert.That(o, Does.Match(@"stages \(median s, share of the pass\): char CNN [\d.]+ \(\d+ ?%\), highway\+projection [\d.]+ \(\d+ ?%\), LSTM [\d.]+ \(\d+ ?%\), other [\d.]+"));
        Assert.That(o, Does.Match(@"peak resident memory: [1-9]\d* MB"));
        // Batch 1 over the first sentences, then the machine's limits and the fractions of ceiling and floor.
        Assert.That(Regex.Matches(o, @"batch 1, pass \d/3: [\d.]+ s/sentence, \d+ tokens/s"), Has.Count.EqualTo(3), o);
        Assert.That(o, Does.Match(@"batch 1, median of 3: [\d.]+ s/sentence \(min [\d.]+, max [\d.]+\) over the first 4 sentences \(21 tokens\)"));
        // The limits are measured before, between and after the passes, in that order, and their median is used.
        var limits = Regex.Matches(o, @"machine limits (?<when>before|between|after) the passes \(best of 3\): fp32 FMA peak (?<p1>[\d.]+) GFLOP/s on 1 thread, (?<p>[\d.]+) on 1 \((Scalar|Vector\d+)\); memory read (?<b1>[\d.]+) GB/s on 1 thread, [\d.]+ on 1");
        Assert.That(limits.Select(m => m.Groups["when"].Value), Is.EqualTo(new[] { "before", "between", "after" }), o);
        Assert.That(o.IndexOf("machine limits before", StringComparison.Ordinal), Is.LessThan(o.IndexOf("pass 1/3", StringComparison.Ordinal)), "calibrated before the timed passes");
        Assert.That(o.IndexOf("machine limits between", StringComparison.Ordinal), Is.InRange(o.IndexOf("median of 3:", StringComparison.Ordinal), o.IndexOf("batch 1, pass 1/3", StringComparison.Ordinal)), "between the throughput and batch-1 passes");
        foreach (Match m in limits)
        {
            Assert.That(double.Parse(m.Groups["p1"].Value, CultureInfo.InvariantCulture), Is.GreaterThan(0.5), "a real FMA rate");
            Assert.That(double.Parse(m.Groups["b1"].Value, CultureInfo.InvariantCulture), Is.GreaterThan(0.1), "a real bandwidth");
        }
        var peaks = limits.Select(m => double.Parse(m.Groups["p"].Value, CultureInfo.InvariantCulture)).Order().ToArray();
        var summary = Regex.Match(o, @"machine limits, median of 3 calibrations: fp32 FMA peak [\d.]+ GFLOP/s on 1 thread \([\d.]+–[\d.]+\), (?<p>[\d.]+) on 1 \((?<lo>[\d.]+)–(?<hi>[\d.]+)\); memory read [\d.]+ GB/s on 1 thread \([\d.]+–[\d.]+\), [\d.]+ on 1 \([\d.]+–[\d.]+\)");
        Assert.That(summary.Success, o);
        Assert.That(double.Parse(summary.Groups["p"].Value, CultureInfo.InvariantCulture), Is.EqualTo(peaks[1]).Within(0.051), "the median calibration");
        Assert.That(double.Parse(summary.Groups["lo"].Value, CultureInfo.InvariantCulture), Is.EqualTo(peaks[0]).Within(0.051));
        Assert.That(double.Parse(summary.Groups["hi"].Value, CultureInfo.InvariantCulture), Is.EqualTo(peaks[2]).Within(0.051));
        // The warning when the calibrations disagree by more than 15 % (away from the threshold, where rounding of the printed figures could tip it).
        double spread = Math.Max(peaks[2] / peaks[0], BandwidthSpread(o));
        bool warned = o.Contains("warning: the limits measured during this run differ", StringComparison.Ordinal);
        if (spread > 1.16) Assert.That(warned, Is.True, o);
        if (spread < 1.14) Assert.That(warned, Is.False, o);
        var compute = Regex.Match(o, @"compute: (?<mf>[\d.]+) MFLOP per token executed \(GEMMs\), [\d.]+ GFLOP/s; ceiling \d+ tokens/s at (?<peak>[\d.]+) GFLOP/s \(the highest peak measured\): [\d.]+ ?% of the compute ceiling \([\d.]+ ?% at the median peak, [\d.]+ ?% at the lowest\)");
        Assert.That(compute.Success, o);
        Assert.That(double.Parse(compute.Groups["mf"].Value, CultureInfo.InvariantCulture), Is.GreaterThan(0), "the GEMMs were counted");
        Assert.That(double.Parse(compute.Groups["peak"].Value, CultureInfo.InvariantCulture), Is.EqualTo(peaks[2]).Within(0.051), "the ceiling from the highest peak");
        Assert.That(o, Does.Match(@"batch 1: [\d.]+ MB of weights read per sentence \([\d.]+ MB per token\); bandwidth floor [\d.]+ s/sentence at [\d.]+ GB/s \(the highest bandwidth measured\): [\d.]+x the floor \([\d.]+x at the median bandwidth, [\d.]+x at the lowest\)"));
        var paired = Regex.Match(o, @"batch 1, each pass against the read bandwidth measured right after it \((?<lo>[\d.]+)–(?<hi>[\d.]+) GB/s on 1 thread\): median (?<r>[\d.]+)x the floor \(range (?<rlo>[\d.]+)–(?<rhi>[\d.]+)\)");
        Assert.That(paired.Success, o);
        double ratio = double.Parse(paired.Groups["r"].Value, CultureInfo.InvariantCulture);
        Assert.That(ratio, Is.GreaterThan(0).And.InRange(double.Parse(paired.Groups["rlo"].Value, CultureInfo.InvariantCulture), double.Parse(paired.Groups["rhi"].Value, CultureInfo.InvariantCulture)), "the median lies in the range");
    }

    /// <summary>Highest ÷ lowest all-thread bandwidth of the calibration lines.</summary>
    private static double BandwidthSpread(string o)
    {
        var reads = Regex.Matches(o, @"machine limits (before|between|after) the passes \(best of 3\): .*?memory read [\d.]+ GB/s on 1 thread, (?<b>[\d.]+) on 1")
            .Select(m => double.Parse(m.Groups["b"].Value, CultureInfo.InvariantCulture)).ToArray();
        return reads.Max() / reads.Min();
    }

    [Test]
    public void GemmMeasuresTheProductAgainstTheOneCorePeak()
    {
        var result = CliHarness.Run("bench", "--gemm", "--gemm-shapes", "12x64x128,7x100x40", "--repetitions", "2");
        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        Assert.That(result.Out, Does.Match(@"blocking for \d+-column panels: KC \d+, MC \d+, NC \w+ from L1d \d+ KiB"));
        Assert.That(result.Out, Does.Contain("interleaved, 2 rounds"));
        foreach (string shape in new[] { "12x64x128", "7x100x40" })
        {
            Assert.That(result.Out, Does.Match(shape + @": median [\d.]+ GFLOP/s, peak [\d.]+: [\d.]+ ?% of the peak \(rounds [\d.]+ ?%–[\d.]+ ?%\); best [\d.]+ of best [\d.]+: [\d.]+ ?%; per CPU second: [\d.]+ ?%"));
        }
        Assert.That(result.Out, Does.Not.Contain("tokens/s"), "no model is run");

        var usage = CliHarness.Run("bench", "--gemm", "--gemm-shapes", "12x64");
        Assert.That(usage.Exit, Is.EqualTo(2), usage.ToString());
        Assert.That(usage.Err, Does.Contain("--gemm-shapes: '12x64' is not MxKxN"));
        usage = CliHarness.Run("bench", "--preset", "tiny", "--gemm-shapes", "12x64x128");
        Assert.That(usage.Exit, Is.EqualTo(2), usage.ToString());
        Assert.That(usage.Err, Does.Contain("--gemm-shapes goes with --gemm."));
    }

    [Test]
    public void RunsBatchesSideBySideAndSkipsWhatItIsToldTo()
    {
        using var dir = new TempDir();
        string corpus = dir.Write("corpus.txt", "The cat sat on the mat .\nA dog barked .\nIt rained all day long in the town .\nHi\n");
        var result = CliHarness.Run("bench", "--preset", "tiny", "--corpus", corpus, "--batch-size", "1", "--repetitions", "1", "--threads", "2", "--parallel-batches", "2", "--latency-sentences", "0", "--no-calibration");
        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        Assert.That(result.Out, Does.Contain("threads 2 (2 batches side by side, 1 threads each; stage times summed over them)"));
        Assert.That(result.Out, Does.Contain("stages (median s summed over the batches side by side, share of the pass)"));
        Assert.That(result.Out, Does.Not.Contain("batch 1,"));
        Assert.That(result.Out, Does.Not.Contain("machine limits"));
    }

    [Test]
    public void SortsByLengthAndTakesTheFirstSentences()
    {
        using var dir = new TempDir();
        string corpus = dir.Write("corpus.txt", "one two three\nfour\nfive six\nseven eight nine ten\n");
        var result = CliHarness.Run("bench", "--preset", "tiny", "--corpus", corpus, "--sentences", "3", "--sort-by-length", "--repetitions", "1", "--no-calibration");
        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        Assert.That(result.Out, Does.Contain("3 sentences, 6 tokens; batch size 64, 1 batches, sorted by length"));
    }

    [Test]
    public void LoadsAModelFromFiles()
    {
        using var dir = new TempDir();
        string corpus = dir.Write("corpus.txt", "hello world\n");
        var result = CliHarness.Run(["bench", "--corpus", corpus, "--repetitions", "1", "--no-calibration", .. CliHarness.FixtureModel]);
        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        Assert.That(result.Out, Does.Contain("model: " + Reference.FixtureWeights));
    }

    [Test]
    public void ReducedPrecisionRunsAndReportsItsFidelity()
    {
        using var dir = new TempDir();
        string corpus = dir.Write("corpus.txt", "The cat sat on the mat .\nA dog barked .\n");
        var result = CliHarness.Run("bench", "--preset", "tiny", "--corpus", corpus, "--repetitions", "1", "--latency-sentences", "0", "--no-calibration", "--precision", "int8");
        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        Assert.That(result.Out, Does.Match(@"MB packed \(Int8\)"));
        var layers = Regex.Matches(result.Out, @"fidelity vs fp32, layer (?<l>\d): 11 vectors, cosine min (?<min>[\d.]+), median [\d.]+; max abs diff \S+");
        Assert.That(layers, Has.Count.EqualTo(3), result.Out);
        Assert.That(layers.Select(m => double.Parse(m.Groups["min"].Value, CultureInfo.InvariantCulture)), Has.All.GreaterThan(0.9));
        Assert.That(CliHarness.Run("bench", "--preset", "tiny", "--corpus", corpus, "--no-calibration", "--precision", "fp16").Exit, Is.EqualTo(2), "not a precision");
        Assert.That(CliHarness.Run("bench", "--preset", "tiny", "--corpus", corpus, "--repetitions", "1", "--no-calibration").Out, Does.Not.Contain("fidelity"), "fp32 is the reference itself");
    }

    [TestCase("--batch-size", "0")]
    [TestCase("--repetitions", "0")]
    [TestCase("--sentences", "0")]
    [TestCase("--threads", "0")]
    [TestCase("--parallel-batches", "0")]
    [TestCase("--latency-sentences", "-1")]
    [TestCase("--preset", "huge")]
    public void BadNumbersAndNamesAreUsageErrors(string flag, string value)
    {
        var result = CliHarness.Run("bench", "--preset", "tiny", flag, value);
        Assert.That(result.Exit, Is.EqualTo(2), result.ToString());
        Assert.That(result.Err, Does.StartWith("elmo: "));
    }

    [Test]
    public void NeedsExactlyOneModel()
    {
        using var dir = new TempDir();
        string corpus = dir.Write("corpus.txt", "hello\n");
        Assert.That(CliHarness.Run("bench", "--corpus", corpus).Exit, Is.EqualTo(2), "no model");
        Assert.That(CliHarness.Run(["bench", "--corpus", corpus, "--preset", "tiny", .. CliHarness.FixtureModel]).Exit, Is.EqualTo(2), "two models");
    }

    [Test]
    public void MissingOrEmptyCorpusIsBadInput()
    {
        using var dir = new TempDir();
        var missing = CliHarness.Run("bench", "--preset", "tiny", "--corpus", dir.File("nope.txt"));
        Assert.That(missing.Exit, Is.EqualTo(1), missing.ToString());
        Assert.That(missing.Err, Does.Contain("nope.txt"));
        var empty = CliHarness.Run("bench", "--preset", "tiny", "--corpus", dir.Write("empty.txt", "\n\n"));
        Assert.That(empty.Exit, Is.EqualTo(1), empty.ToString());
        Assert.That(empty.Err, Does.Contain("no sentences"));
    }

    [GeneratedRegex(@"pass \d/3: (?<s>[\d.]+) s, \d+ tokens/s, [\d.]+ s/sentence, CPU [\d.]+ s \| char CNN (?<cnn>[\d.]+) s, highway\+projection (?<hw>[\d.]+) s, LSTM (?<lstm>[\d.]+) s, other (?<other>[\d.]+) s")]
    private static partial Regex Pass();

    [GeneratedRegex(@"median of (?<n>\d+): \d+ tokens/s \((?<s>[\d.]+) s;")]
    private static partial Regex Median();
}
