using Elmo.Core;
using Elmo.Tests.Cli;

namespace Elmo.Tests.Scale;

/// <summary>
/// The documented job-array scripts (<c>docs/examples/slurm</c>) on a real single-node Slurm cluster: four array
/// tasks and a dependent merge give one run's file bitwise; a task cancelled midway and resubmitted alone with
/// <c>--resume</c> completes the set.
/// </summary>
[NonParallelizable]
public class SlurmTests
{
    private SlurmCluster? _cluster;

    [OneTimeSetUp]
    public void StartCluster()
    {
        _cluster = SlurmCluster.TryStart(out string? why);
        if (_cluster is null) Assert.Ignore($"skipped: no Slurm cluster can be started here: {why}");
    }

    [OneTimeTearDown]
    public void StopCluster() => _cluster?.Dispose();

    private static string Scripts => Path.Combine(SlurmCluster.RepositoryRoot(), "docs", "examples", "slurm");

    private static Dictionary<string, string> Environment => new()
    {
        ["ELMO"] = $"{ElmoProcess.Host} {Path.Combine(AppContext.BaseDirectory, "elmo.dll")}",
        [ModelCache.EnvironmentVariable] = TestCacheSetup.CacheDirectory,
    };

    [Test]
    public void AFourTaskArrayAndADependentMergeGiveOneRunsFileBitwise()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", ScaleCorpus.Text(1200, distinct: false));
        string array = _cluster!.Submit(Environment, "--chdir", dir.Path, "--array=1-4", Path.Combine(Scripts, "embed-array.sbatch"), "in.txt", "parts", "4", "--model", "demo", "--all");
        string merge = _cluster.Submit(Environment, "--chdir", dir.Path, $"--dependency=afterok:{array}", Path.Combine(Scripts, "merge.sbatch"), "merged.hdf5", "parts");
        _cluster.WaitFor(240, array, merge);

        Assert.That(File.Exists(dir.File("merged.hdf5")), Is.True, Logs(dir));
        Assert.That(Directory.GetFiles(dir.File("parts")).Select(Path.GetFileName), Is.EquivalentTo(Enumerable.Range(1, 4).Select(k => $"part-{k:00000}-of-00004.hdf5")));
        Assert.That(CliHarness.Run("embed", input, dir.File("single.hdf5"), "--model", "demo", "--all", "--quiet").Exit, Is.Zero);
        Assert.That(File.ReadAllBytes(dir.File("merged.hdf5")), Is.EqualTo(File.ReadAllBytes(dir.File("single.hdf5"))), "bitwise one run's file");
        Assert.That(CliHarness.Run("compare", dir.File("merged.hdf5"), dir.File("single.hdf5"), "--atol", "0", "--rtol", "0").Exit, Is.Zero);
    }

    [Test]
    public void ATaskCancelledMidwayAndResubmittedWithResumeCompletesTheSet()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", ScaleCorpus.Text(8000, distinct: false));
        string[] flags = ["--model", "demo", "--top", "--batch-size", "16", "--checkpoint-sentences", "100"];
        string array = _cluster!.Submit(Environment, ["--chdir", dir.Path, "--array=1-4", Path.Combine(Scripts, "embed-array.sbatch"), "in.txt", "parts", "4", .. flags]);

        // Task 2 is cancelled once it has checkpointed some of its work.
        string checkpoint = dir.File("parts/.part-00002-of-00004.hdf5.elmo-checkpoint");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!File.Exists(checkpoint) && watch.Elapsed.TotalSeconds < 180) Thread.Sleep(100);
        Assert.That(File.Exists(checkpoint), Is.True, "task 2 checkpointed\n" + Logs(dir));
        var cancel = _cluster.Slurm("scancel", $"{array}_2");
        Assert.That(cancel.Exit, Is.Zero, cancel.Err);
        _cluster.WaitFor(240, array);
        Assert.That(File.Exists(dir.File("parts/part-00002-of-00004.hdf5")), Is.False, "task 2 did not finish\n" + Logs(dir));
        Assert.That(File.Exists(checkpoint), Is.True, "its checkpoint stays");
        var merge = CliHarness.Run("merge", dir.File("early.hdf5"), dir.File("parts"));
        Assert.That(merge.Err, Does.Contain("Shard 2 of 4 is missing"));

        // Resubmitted alone, with the same arguments: it continues from its checkpoint; then the merge.
        string again = _cluster.Submit(Environment, ["--chdir", dir.Path, "--array=2", Path.Combine(Scripts, "embed-array.sbatch"), "in.txt", "parts", "4", .. flags]);
        string merged = _cluster.Submit(Environment, "--chdir", dir.Path, $"--dependency=afterok:{again}", Path.Combine(Scripts, "merge.sbatch"), "merged.hdf5", "parts");
        _cluster.WaitFor(240, again, merged);

        string log = File.ReadAllText(dir.File($"elmo-embed-{again}_2.log"));
        var resumed = System.Text.RegularExpressions.Regex.Match(log, @"resumable run: (\d+) sentences were done by an interrupted run");
        Assert.That(resumed.Success && long.Parse(resumed.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, Is.True, log);
        Assert.That(CliHarness.Run(["embed", input, dir.File("single.hdf5"), "--model", "demo", "--top", "--quiet"]).Exit, Is.Zero);
        Assert.That(File.ReadAllBytes(dir.File("merged.hdf5")), Is.EqualTo(File.ReadAllBytes(dir.File("single.hdf5"))), "bitwise one run's file\n" + Logs(dir));
    }

    private static string Logs(TempDir dir) =>
        string.Join("\n", Directory.GetFiles(dir.Path, "*.log").Order().Select(f => $"--- {Path.GetFileName(f)}\n{File.ReadAllText(f)}"));
}
