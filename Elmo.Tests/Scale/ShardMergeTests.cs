using Elmo.Cli;
using Elmo.Core;
using Elmo.Tests.Cli;

namespace Elmo.Tests.Scale;

/// <summary><c>elmo embed --shard K/N</c> and <c>elmo merge</c>: the merged parts are byte for byte one run's file.</summary>
public class ShardMergeTests
{
    private static readonly string[] Demo = ["--model", "demo", "--quiet"];

    [TestCase("--all")]
    [TestCase("--top")]
    [TestCase("--average")]
    [TestCase("--mix", "0.5,-1,2", "--gamma", "0.75")]
    [TestCase("--all", "--stateless")]
    [TestCase("--top", "--use-sentence-keys")]
    [TestCase("--average", "--stateless", "--use-sentence-keys")]
    [TestCase("--mix", "1,0,-1", "--use-sentence-keys")]
    [TestCase("--all", "--forget-sentences")]
    public void FourPartsMergeIntoExactlyTheFileOfOneRun(params string[] flags)
    {
        using var dir = new TempDir();
        bool keys = flags.Contains("--use-sentence-keys");
        string input = dir.Write("in.txt", ScaleCorpus.Text(230, distinct: keys));
        string single = dir.File("single.hdf5");
        Assert.That(CliHarness.Run(["embed", input, single, .. Demo, .. flags]).Exit, Is.Zero);

        // The parts batch differently (batch size 3, a window of 3 batches): warm and stateless vectors do not depend on batching.
        var parts = new List<string>();
        for (int k = 1; k <= 4; k++)
        {
            string part = dir.File($"part-{k}.hdf5");
            var run = CliHarness.Run(["embed", input, part, .. Demo, .. flags, "--shard", $"{k}/4", "--batch-size", "3"]);
            Assert.That(run.Exit, Is.Zero, run.ToString());
            parts.Add(part);
        }
        string merged = dir.File("merged.hdf5");
        var merge = CliHarness.Run(["merge", merged, parts[2], parts[0], parts[3], parts[1], "--quiet"]);
        Assert.That(merge.Exit, Is.Zero, merge.ToString());

        Assert.That(File.ReadAllBytes(merged), Is.EqualTo(File.ReadAllBytes(single)), "the merged file is byte for byte one run's");
        var compare = CliHarness.Run("compare", merged, single, "--atol", "0", "--rtol", "0");
        Assert.That(compare.Exit, Is.Zero, compare.ToString());
        Assert.That(CliHarness.Names(merged), Has.Length.EqualTo(keys || flags.Contains("--forget-sentences") ? 230 : 231));
    }

    [Test]
    public void PartsAreContiguousBalancedByTokensAndRecordWhatTheyAre()
    {
        using var dir = new TempDir();
        // Long sentences first, short ones after: balanced by sentences, part 1 would hold most of the tokens.
        var lines = Enumerable.Range(0, 40).Select(i => string.Join(' ', Enumerable.Repeat($"w{i}", 30)))
            .Concat(Enumerable.Range(0, 400).Select(i => $"x{i}"));
        string input = dir.Write("in.txt", string.Join('\n', lines) + "\n");
        var parts = new List<PartFile>();
        for (int k = 1; k <= 3; k++)
        {
            string part = dir.File($"p{k}.hdf5");
            Assert.That(CliHarness.Run(["embed", input, part, .. Demo, "--top", "--shard", $"{k}/3"]).Exit, Is.Zero);
            parts.Add(PartFile.Read(part));
        }
        long total = 40 * 32 + 400 * 3;
        long expected = 0;
        foreach (var p in parts)
        {
            Assert.That(p.First, Is.EqualTo(expected), "contiguous");
            expected = p.End;
            long weight = Enumerable.Range((int)p.First, (int)(p.End - p.First)).Sum(i => i < 40 ? 32L : 3L);
            Assert.That(weight, Is.EqualTo(total / 3.0).Within(32), $"part {p.Shard}: tokens (with boundaries) balanced");
            Assert.That(p.Identity.Sentences, Is.EqualTo(440));
            Assert.That(p.Identity.Input, Does.StartWith($"{new FileInfo(input).Length} bytes, siphash128 "));
            Assert.That(p.Identity.Model, Does.StartWith("xxh128 "));
            Assert.That(p.Identity.Settings, Does.StartWith("top, warm (state xxh128 "));
            Assert.That(p.Identity.Version, Is.EqualTo(RunIdentity.ToolVersion));
        }
        Assert.That(expected, Is.EqualTo(440));
        Assert.That(parts.Select(p => p.Shard.ToString()), Is.EqualTo(new[] { "1/3", "2/3", "3/3" }));
    }

    [Test]
    public void MoreShardsThanSentencesGiveEmptyPartsThatStillMerge()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", "a b c\nd e\n");
        string single = dir.File("single.hdf5");
        Assert.That(CliHarness.Run(["embed", input, single, .. Demo, "--all"]).Exit, Is.Zero);
        for (int k = 1; k <= 5; k++) Assert.That(CliHarness.Run(["embed", input, dir.File($"p{k}.hdf5"), .. Demo, "--all", "--shard", $"{k}/5"]).Exit, Is.Zero);
        Assert.That(CliHarness.Run("merge", dir.File("m.hdf5"), dir.File("p*.hdf5"), "--quiet").Exit, Is.Zero);
        Assert.That(File.ReadAllBytes(dir.File("m.hdf5")), Is.EqualTo(File.ReadAllBytes(single)));
    }

    [Test]
    public void MergeTakesADirectoryOrAPattern()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", ScaleCorpus.Text(50, distinct: false));
        Directory.CreateDirectory(dir.File("parts"));
        for (int k = 1; k <= 3; k++) Assert.That(CliHarness.Run(["embed", input, dir.File($"parts/p{k}.hdf5"), .. Demo, "--average", "--shard", $"{k}/3"]).Exit, Is.Zero);
        Assert.That(CliHarness.Run(["embed", input, dir.File("single.hdf5"), .. Demo, "--average"]).Exit, Is.Zero);
        Assert.That(CliHarness.Run("merge", dir.File("a.hdf5"), dir.File("parts"), "--quiet").Exit, Is.Zero);
        Assert.That(CliHarness.Run("merge", dir.File("b.hdf5"), dir.File("parts/p?.hdf5"), "--quiet").Exit, Is.Zero);
        Assert.That(File.ReadAllBytes(dir.File("a.hdf5")), Is.EqualTo(File.ReadAllBytes(dir.File("single.hdf5"))));
        Assert.That(File.ReadAllBytes(dir.File("b.hdf5")), Is.EqualTo(File.ReadAllBytes(dir.File("single.hdf5"))));
    }

    [TestCase("--stateful", "--stateful cannot be split with --shard")]
    [TestCase("--layer-norm", "--layer-norm cannot be split with --shard")]
    public void SettingsWhoseVectorsDependOnTheSplitAreRefusedInOneLine(string flag, string message)
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", "a b\n");
        string[] layout = flag == "--layer-norm" ? ["--mix", "0,0,0", flag] : ["--all", flag];
        var run = CliHarness.Run(["embed", input, dir.File("p.hdf5"), .. Demo, .. layout, "--shard", "1/2"]);
        Assert.That(run.Exit, Is.EqualTo(ElmoCli.UsageError));
        Assert.That(run.Err.Trim().Split('\n'), Has.Length.EqualTo(1).And.Some.StartsWith("elmo: " + message), run.ToString());
        Assert.That(File.Exists(dir.File("p.hdf5")), Is.False);
    }

    [TestCase("1/4", 1, 4)]
    [TestCase("4/4", 4, 4)]
    public void ShardTakesKOverN(string text, int k, int n)
    {
        Assert.That(ShardSpec.Parse(text, _ => null), Is.EqualTo(new ShardSpec(k, n)));
    }

    [TestCase("0/4")]
    [TestCase("5/4")]
    [TestCase("2")]
    [TestCase("a/b")]
    [TestCase("auto/0")]
    [TestCase("1/2/3")]
    public void BadShardTextIsRefused(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => ShardSpec.Parse(text, _ => null))!;
        Assert.That(e.Message, Does.StartWith("--shard"));
    }

    [TestCase("auto", "SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=4", 3, 4)]
    [TestCase("auto", "SLURM_ARRAY_TASK_ID=12 SLURM_ARRAY_TASK_MIN=10 SLURM_ARRAY_TASK_MAX=13", 3, 4)]
    [TestCase("auto", "SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=3 SLURM_ARRAY_TASK_COUNT=4", 1, 4)]
    [TestCase("auto/4", "SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=4", 4, 4)]
    [TestCase("auto/4", "SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=2 SLURM_ARRAY_TASK_COUNT=1", 2, 4)]
    [TestCase("auto/8", "JOB_COMPLETION_INDEX=0", 1, 8)]
    [TestCase("auto/8", "JOB_COMPLETION_INDEX=7", 8, 8)]
    public void AutoReadsTheEnginesEnvironment(string text, string environment, int k, int n)
    {
        Assert.That(ShardSpec.Parse(text, Env(environment)), Is.EqualTo(new ShardSpec(k, n)));
    }

    [TestCase("auto", "", "neither SLURM_ARRAY_TASK_ID")]
    [TestCase("auto", "SLURM_ARRAY_TASK_ID=2", "SLURM_ARRAY_TASK_MIN is not")]
    [TestCase("auto", "SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=1", "neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX")]
    [TestCase("auto", "SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=7 SLURM_ARRAY_TASK_COUNT=4", "not a plain range")]
    [TestCase("auto", "SLURM_ARRAY_TASK_ID=9 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=4", "outside the array")]
    [TestCase("auto", "SLURM_ARRAY_TASK_ID=x SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=4", "not a whole number")]
    [TestCase("auto/3", "SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=4", "is not a part number 1-3")]
    [TestCase("auto/4", "SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_COUNT=4", "is not a part number 1-4")]
    [TestCase("auto", "JOB_COMPLETION_INDEX=2", "--shard auto/N")]
    [TestCase("auto/2", "JOB_COMPLETION_INDEX=2", "not below 2")]
    public void AutoRefusesAMissingOrInconsistentEnvironment(string text, string environment, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => ShardSpec.Parse(text, Env(environment)))!;
        Assert.That(e.Message, Does.Contain(message));
        Assert.That(e.Message, Does.Not.Contain('\n'));
    }

    [Test]
    public void AutoFromTheCommandLineIsAUsageErrorOutsideAnEngine()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", "a b\n");
        if (Environment.GetEnvironmentVariable("SLURM_ARRAY_TASK_ID") is not null || Environment.GetEnvironmentVariable("JOB_COMPLETION_INDEX") is not null)
        {
            Assert.Ignore("skipped: this test process runs inside a job array, so --shard auto has an environment to read");
        }
        var run = CliHarness.Run(["embed", input, dir.File("p.hdf5"), .. Demo, "--all", "--shard", "auto"]);
        Assert.That(run.Exit, Is.EqualTo(ElmoCli.UsageError));
        Assert.That(run.Err, Does.Contain("neither SLURM_ARRAY_TASK_ID"));
    }

    private static Func<string, string?> Env(string text)
    {
        var map = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(kv => kv.Split('=')).ToDictionary(kv => kv[0], kv => kv[1]);
        return name => map.GetValueOrDefault(name);
    }
}
