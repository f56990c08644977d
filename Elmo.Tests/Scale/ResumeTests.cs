using System.Diagnostics;
using Elmo.Cli;
using Elmo.Core;
using Elmo.Tests.Cli;

namespace Elmo.Tests.Scale;

/// <summary><c>elmo embed --resume</c>: an interrupted run continues from its last checkpoint and ends with the bytes of an uninterrupted run.</summary>
public class ResumeTests
{
    private static readonly string[] Demo = ["--model", "demo", "--quiet"];

    [TestCase(OutputLayout.All, false, StateMode.Warm, false)]
    [TestCase(OutputLayout.Top, true, StateMode.Warm, false)]
    [TestCase(OutputLayout.Average, false, StateMode.Stateless, false)]
    [TestCase(OutputLayout.Mix, false, StateMode.Warm, false)]
    [TestCase(OutputLayout.Mix, false, StateMode.Warm, true)]
    [TestCase(OutputLayout.All, false, StateMode.Stateful, false)]
    [TestCase(OutputLayout.Mix, true, StateMode.Stateful, true)]
    public void ACancelledRunResumesToTheBytesOfAnUninterruptedOne(OutputLayout layout, bool keys, StateMode mode, bool layerNorm)
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", ScaleCorpus.Text(400, distinct: keys));
        var mix = layout == OutputLayout.Mix ? new ScalarMix(3, [0.5f, -1f, 2f], gamma: 0.75f, layerNorm: layerNorm) : null;
        var settings = new EmbedSettings { Layout = layout, Mix = mix, UseSentenceKeys = keys, Mode = mode, BatchSize = 8 };
        string single = dir.File("single.hdf5");
        using (var corpus = CorpusInput.FromFile(input)) CorpusEmbedder.Run(Core.ElmoModel.Demo(), corpus, single, settings);

        string output = dir.File("out.hdf5");
        var resumable = settings with { Resume = new ResumeOptions { Sentences = 50 } };
        using var cancel = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() =>
        {
            using var corpus = CorpusInput.FromFile(input);
            CorpusEmbedder.Run(Core.ElmoModel.Demo(), corpus, output, resumable, p =>
            {
                if (p.Sentences >= 230) cancel.Cancel();
            }, cancel.Token);
        });
        Assert.That(File.Exists(output), Is.False, "no output yet");
        var checkpoint = Checkpoint.For(output);
        Assert.That(File.Exists(checkpoint.RecordPath) && File.Exists(checkpoint.WorkingPath), Is.True, "the checkpoint stays");

        EmbedProgress done;
        using (var corpus = CorpusInput.FromFile(input)) done = CorpusEmbedder.Run(Core.ElmoModel.Demo(), corpus, output, resumable);

        bool wholeBatches = layerNorm || mode == StateMode.Stateful;
        Assert.That(done.ResumedSentences, Is.EqualTo(wholeBatches ? 224 : 200), "the last checkpoint before the cancellation: 4 × 50 sentences (stateful or a layer-normalised mix: at the next whole batch of 8)");
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(File.ReadAllBytes(single)), "bitwise the uninterrupted run's file");
        Assert.That(File.Exists(checkpoint.RecordPath) || File.Exists(checkpoint.WorkingPath), Is.False, "the checkpoint is gone");
    }

    [Test]
    public void APartResumesToo()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", ScaleCorpus.Text(300, distinct: false));
        Assert.That(CliHarness.Run(["embed", input, dir.File("p2.hdf5"), .. Demo, "--top", "--shard", "2/3"]).Exit, Is.Zero);
        using var cancel = new CancellationTokenSource();
        var settings = new EmbedSettings { Layout = OutputLayout.Top, Shard = new ShardSpec(2, 3), BatchSize = 4, Resume = new ResumeOptions { Sentences = 20 } };
        string output = dir.File("p2-resumed.hdf5");
        Assert.Throws<OperationCanceledException>(() =>
        {
            using var corpus = CorpusInput.FromFile(input);
            CorpusEmbedder.Run(Core.ElmoModel.Demo(), corpus, output, settings, p =>
            {
                if (p.Sentences >= 50) cancel.Cancel();
            }, cancel.Token);
        });
        var run = CliHarness.Run(["embed", input, output, "--model", "demo", "--top", "--shard", "2/3", "--resume", "--checkpoint-sentences", "20"]);
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Err, Does.Contain("40 sentences were done by an interrupted run and not embedded again"));
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(File.ReadAllBytes(dir.File("p2.hdf5"))));
    }

    [Test]
    public void CheckpointsFollowTimeAsWellAsSentences()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", ScaleCorpus.Text(120, distinct: false));
        var settings = new EmbedSettings { Layout = OutputLayout.Top, BatchSize = 4, Resume = new ResumeOptions { Sentences = 1_000_000, Interval = TimeSpan.FromTicks(1) } };
        using var corpus = CorpusInput.FromFile(input);
        var done = CorpusEmbedder.Run(Core.ElmoModel.Demo(), corpus, dir.File("out.hdf5"), settings);
        Assert.That(done.Checkpoints, Is.EqualTo(120), "a checkpoint after every sentence, when every tick is due");
        Assert.That(new ResumeOptions().Sentences, Is.EqualTo(1000));
        Assert.That(new ResumeOptions().Interval, Is.EqualTo(TimeSpan.FromSeconds(30)));
    }

    [Test]
    public void LeftoversAreNamedAndADifferentRunIsRefused()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", ScaleCorpus.Text(200, distinct: false));
        string output = dir.File("out.hdf5");
        using var cancel = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() =>
        {
            using var corpus = CorpusInput.FromFile(input);
            CorpusEmbedder.Run(Core.ElmoModel.Demo(), corpus, output, new EmbedSettings { Layout = OutputLayout.Top, BatchSize = 4, Resume = new ResumeOptions { Sentences = 10 } }, p =>
            {
                if (p.Sentences >= 30) cancel.Cancel();
            }, cancel.Token);
        });
        var checkpoint = Checkpoint.For(output);

        var plain = CliHarness.Run(["embed", input, output, .. Demo, "--top"]);
        Assert.That(plain.Exit, Is.EqualTo(ElmoCli.BadInput));
        Assert.That(plain.Err.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(plain.Err, Does.Contain("an interrupted run of it left a checkpoint (30 of 200 sentences done)").And.Contain("add --resume to continue it, or delete").And.Contain(checkpoint.WorkingPath));

        var other = CliHarness.Run(["embed", input, output, .. Demo, "--all", "--resume"]);
        Assert.That(other.Exit, Is.EqualTo(ElmoCli.BadInput));
        Assert.That(other.Err.Trim().Split('\n').Where(l => !l.Contains("built-in demo model", StringComparison.Ordinal)), Has.Exactly(1).Items, "one line besides the demo model's notice");
        Assert.That(other.Err, Does.Contain("Cannot resume").And.Contain("the interrupted run embedded different settings (top,"));

        var stateful = CliHarness.Run(["embed", input, output, .. Demo, "--top", "--stateful", "--resume"]);
        Assert.That(stateful.Exit, Is.EqualTo(ElmoCli.BadInput));
        Assert.That(stateful.Err, Does.Contain("Cannot resume").And.Contain("the interrupted run embedded different settings (top, warm").And.Contain("this run: top, stateful batch 64,"));

        string changed = dir.Write("in.txt", ScaleCorpus.Text(200, distinct: false, seed: 9));
        var otherInput = CliHarness.Run(["embed", changed, output, .. Demo, "--top", "--resume"]);
        Assert.That(otherInput.Exit, Is.EqualTo(ElmoCli.BadInput));
        Assert.That(otherInput.Err, Does.Contain("the interrupted run embedded a different input"));

        Assert.That(File.Exists(output), Is.False);
        Assert.That(File.Exists(checkpoint.RecordPath), Is.True, "refusals leave the checkpoint alone");
    }

    [TestCase("INT", 1, ElmoCli.Interrupted)]
    [TestCase("TERM", 1, ElmoCli.Terminated)]
    [TestCase("INT", 2, ElmoCli.Interrupted)]
    public void ASignalledRunSaysHowToResumeOrDiscardItsCheckpoint(string signal, int times, int code)
    {
        using var dir = new TempDir();
        string tmp = Directory.CreateDirectory(dir.File("tmp")).FullName;
        File.WriteAllText(dir.File("in.txt"), ScaleCorpus.Text(5000, distinct: false));
        string[] flags = ["--model", "demo", "--top", "--batch-size", "16", "--threads", "1", "--quiet"];
        Assert.That(CliHarness.Run(["embed", dir.File("in.txt"), dir.File("single.hdf5"), .. flags]).Exit, Is.Zero);
        var checkpoint = Checkpoint.For(dir.File("out.hdf5"));

        string err;
        using (var run = ElmoProcess.Start(dir.Path, tmp, ["embed", "in.txt", "out.hdf5", .. flags, "--resume", "--checkpoint-sentences", "100"]))
        {
            if (signal == "INT") run.RequireSigintNotIgnored();
            run.WaitUntil(() => File.Exists(checkpoint.RecordPath), "the first checkpoint", 300);
            for (int i = 0; i < times; i++) run.Signal(signal);
            (int exit, err, _, _) = run.Wait(60);
            Assert.That(exit, Is.EqualTo(code), err);
        }
        // One line (besides the demo model's notice): cancelled, or, after a second signal, stopped at once (a second
        // signal that comes after the cancelled run's line adds its own); each names what is checkpointed, the command
        // that continues it, and the two files that discard it.
        var lines = err.Trim().Split('\n').Where(l => !l.Contains("built-in demo model", StringComparison.Ordinal)).ToList();
        Assert.That(lines, times == 1 ? Has.Count.EqualTo(1) : Has.Count.InRange(1, 2), err);
        var matches = lines.Select(l => System.Text.RegularExpressions.Regex.Match(l,
            @"^elmo: (cancelled|interrupted; stopped at once \(temporary files removed\)); 'out\.hdf5' is not written yet, but ([0-9,]+) of 5,000 sentences are checkpointed: run 'elmo (embed in\.txt out\.hdf5 .* --resume --checkpoint-sentences 100)' again to continue from there \(--resume\), or delete '(.*)' and '(.*)' to discard them\.$")).ToList();
        Assert.That(matches.All(m => m.Success), Is.True, err);
        var match = matches[0];
        if (times == 1) Assert.That(match.Groups[1].Value, Is.EqualTo("cancelled"));
        if (lines.Count == 2) Assert.That(matches.Select(m => m.Groups[1].Value), Is.EquivalentTo(new[] { "cancelled", "interrupted; stopped at once (temporary files removed)" }), "in either order");
        Assert.That(match.Groups[4].Value, Is.EqualTo(checkpoint.RecordPath));
        Assert.That(match.Groups[5].Value, Is.EqualTo(checkpoint.WorkingPath));
        long done = long.Parse(match.Groups[2].Value, System.Globalization.NumberStyles.AllowThousands, System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(done, Is.GreaterThanOrEqualTo(100).And.LessThan(5000));
        Assert.That(File.Exists(checkpoint.RecordPath) && File.Exists(checkpoint.WorkingPath), Is.True);

        // The command it names, run as it is, continues from the checkpoint and ends with the uninterrupted run's bytes.
        using (var resumed = ElmoProcess.Start(dir.Path, tmp, match.Groups[3].Value.Split(' ')))
        {
            var (exit, e, _, _) = resumed.Wait(300);
            Assert.That(exit, Is.Zero, e);
        }
        Assert.That(File.ReadAllBytes(dir.File("out.hdf5")), Is.EqualTo(File.ReadAllBytes(dir.File("single.hdf5"))));
        Assert.That(Directory.GetFiles(dir.Path, ".*"), Is.Empty, "no working file or checkpoint left");
    }

    [Test]
    public void ASignalBeforeTheFirstCheckpointLeavesNothing()
    {
        using var dir = new TempDir();
        string tmp = Directory.CreateDirectory(dir.File("tmp")).FullName;
        File.WriteAllText(dir.File("in.txt"), ScaleCorpus.Text(5000, distinct: false));
        var checkpoint = Checkpoint.For(dir.File("out.hdf5"));
        using var run = ElmoProcess.Start(dir.Path, tmp, ["embed", "in.txt", "out.hdf5", "--model", "demo", "--top", "--threads", "1", "--quiet", "--resume", "--checkpoint-sentences", "1000000", "--checkpoint-seconds", "100000"]);
        run.WaitUntil(() => run.HasOpen(checkpoint.WorkingPath), "writing its working file", 300);
        run.Signal("TERM");
        var (exit, err, _, _) = run.Wait(60);
        Assert.That(exit, Is.EqualTo(ElmoCli.Terminated), err);
        Assert.That(err, Does.EndWith("elmo: cancelled; no output was written.\n"));
        Assert.That(Directory.GetFiles(dir.Path, ".*"), Is.Empty, "no checkpoint was taken, so no working file is left either");
        Assert.That(File.Exists(dir.File("out.hdf5")), Is.False);
    }

    [Test]
    public void AStatefulCheckpointHoldsItsBatchSizeAndStates()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", ScaleCorpus.Text(100, distinct: false));
        string output = dir.File("out.hdf5");
        using var cancel = new CancellationTokenSource();
        var settings = new EmbedSettings { Layout = OutputLayout.Top, Mode = StateMode.Stateful, BatchSize = 4, Resume = new ResumeOptions { Sentences = 10 } };
        Assert.Throws<OperationCanceledException>(() =>
        {
            using var corpus = CorpusInput.FromFile(input);
            CorpusEmbedder.Run(Core.ElmoModel.Demo(), corpus, output, settings, p =>
            {
                if (p.Sentences >= 30) cancel.Cancel();
            }, cancel.Token);
        });
        var checkpoint = Checkpoint.For(output);
        var record = File.ReadAllLines(checkpoint.RecordPath);
        Assert.That(record.Single(l => l.StartsWith("done: ", StringComparison.Ordinal)).Split(' ')[1], Is.EqualTo("24"), "checkpoints at whole batches of 4: 12, 24");
        var o = Core.ElmoModel.Demo().Options.Lstm;
        string state = record.Single(l => l.StartsWith("state: ", StringComparison.Ordinal));
        Assert.That(state, Does.StartWith("state: 4 "), "the states of the 4 batch rows");
        Assert.That(Convert.FromBase64String(state.Split(' ')[2]), Has.Length.EqualTo(2 * o.Layers * 4 * (o.ProjectionDim + o.CellDim) * sizeof(float)));

        var otherBatch = CliHarness.Run(["embed", input, output, .. Demo, "--top", "--stateful", "--batch-size", "8", "--resume"]);
        Assert.That(otherBatch.Exit, Is.EqualTo(ElmoCli.BadInput), otherBatch.ToString());
        Assert.That(otherBatch.Err, Does.Contain("the interrupted run embedded different settings (top, stateful batch 4,").And.Contain("this run: top, stateful batch 8,"));

        var same = CliHarness.Run(["embed", input, output, "--model", "demo", "--top", "--stateful", "--batch-size", "4", "--resume"]);
        Assert.That(same.Exit, Is.Zero, same.ToString());
        Assert.That(same.Err, Does.Contain("resumable run: 24 sentences were done by an interrupted run"));
        var single = CliHarness.Run(["embed", input, dir.File("single.hdf5"), .. Demo, "--top", "--stateful", "--batch-size", "4"]);
        Assert.That(single.Exit, Is.Zero, single.ToString());
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(File.ReadAllBytes(dir.File("single.hdf5"))));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void AKilledRunOfFiveThousandSentencesResumesWithoutRedoingItsWork(bool stateful)
    {
        using var dir = new TempDir();
        string tmp = Directory.CreateDirectory(dir.File("tmp")).FullName;
        File.WriteAllText(dir.File("in.txt"), ScaleCorpus.Text(5000, distinct: false));
        string[] flags = ["--model", "demo", "--top", "--batch-size", "16", "--threads", "1", .. (stateful ? new[] { "--stateful" } : [])];

        var watch = Stopwatch.StartNew();
        using (var whole = ElmoProcess.Start(dir.Path, tmp, ["embed", "in.txt", "single.hdf5", .. flags, "--quiet"]))
        {
            Assert.That(whole.Wait(300).Exit, Is.Zero, whole.Error);
        }
        double uninterrupted = watch.Elapsed.TotalSeconds;

        // SIGKILL at a random point after the first checkpoint (the seed is printed, so a failure can be replayed).
        int seed = Environment.TickCount;
        var random = new Random(seed);
        var checkpoint = Checkpoint.For(dir.File("out.hdf5"));
        double fraction = 0.1 + 0.7 * random.NextDouble();
        TestContext.Out.WriteLine($"seed {seed}: SIGKILL after about {fraction:P0} of the run");
        using (var first = ElmoProcess.Start(dir.Path, tmp, ["embed", "in.txt", "out.hdf5", .. flags, "--resume", "--checkpoint-sentences", "250", "--quiet"]))
        {
            first.WaitUntil(() => File.Exists(checkpoint.RecordPath), "the first checkpoint", 300);
            Thread.Sleep(TimeSpan.FromSeconds(uninterrupted * fraction * random.NextDouble()));
            first.Signal("KILL");
            first.Wait(60);
        }
        Assert.That(File.Exists(dir.File("out.hdf5")), Is.False, "killed before the end");
        long recorded = long.Parse(File.ReadAllLines(checkpoint.RecordPath).Single(l => l.StartsWith("done: ", StringComparison.Ordinal)).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);

        watch.Restart();
        string err;
        using (var resumed = ElmoProcess.Start(dir.Path, tmp, ["embed", "in.txt", "out.hdf5", .. flags, "--resume", "--checkpoint-sentences", "250"]))
        {
            var (exit, e, _, _) = resumed.Wait(300);
            err = e;
            Assert.That(exit, Is.Zero, err);
        }
        double resumedSeconds = watch.Elapsed.TotalSeconds;
        TestContext.Out.WriteLine($"uninterrupted {uninterrupted:F1} s; killed with {recorded} of 5000 sentences checkpointed; the resumed run took {resumedSeconds:F1} s");

        Assert.That(err, Does.Contain($"resumable run: {recorded} sentences were done by an interrupted run and not embedded again"));
        Assert.That(err, Does.Contain($"elmo: embedded {5000 - recorded} sentences"));
        Assert.That(File.ReadAllBytes(dir.File("out.hdf5")), Is.EqualTo(File.ReadAllBytes(dir.File("single.hdf5"))), "bitwise the uninterrupted run's file");
        Assert.That(Directory.GetFiles(dir.Path, ".*"), Is.Empty, "no working file or checkpoint left");
    }
}
