using Elmo.Cli;
using Elmo.Tests.Support;

namespace Elmo.Tests.Cli;

/// <summary>
/// SIGINT and SIGTERM on the real process, wherever it is: blocked on standard input or on a FIFO no one writes, or in
/// the middle of writing its output. It must end promptly (within the grace period, at once on a second signal), with
/// 130 / 143, leaving no temporary file and keeping an existing output. About 15 s in all (five process starts, two grace periods).
/// </summary>
[TestFixture]
[NonParallelizable]
public class SignalTests
{
    /// <summary>The grace period plus slack for a loaded machine.</summary>
    private static readonly double Prompt = Interrupts.GracePeriod.TotalSeconds + 8;

    private static string[] Model => ["--options", Reference.FixtureOptions, "--weights", Reference.FixtureWeights];

    private static void MakeFifo(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) Assert.Ignore("FIFOs are tested on Unix.");
        using var p = System.Diagnostics.Process.Start("mkfifo", [path]);
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.Zero, "mkfifo");
    }

    [Test]
    public void SigtermWhileReadingStandardInputThatNeverEndsExitsWith143AndRemovesTheSpool()
    {
        using var dir = new TempDir();
        string tmp = Directory.CreateDirectory(dir.File("tmp")).FullName;
        using var elmo = ElmoProcess.Start(dir.Path, tmp, ["embed", "-", "out.hdf5", "--all", "--quiet", .. Model]);
        elmo.Input.Write("The cat sat .\n"u8);
        elmo.Input.Flush(); // and standard input stays open: no EOF
        elmo.WaitUntil(() => Directory.GetFiles(tmp, "elmo-input.*").Length > 0, "spooling standard input");

        elmo.Signal("TERM");
        var (exit, err, _, after) = elmo.Wait(Prompt + 30);

        Assert.That(exit, Is.EqualTo(ElmoCli.Terminated), err);
        Assert.That(after, Is.LessThan(Prompt), "ended within the grace period");
        Assert.That(Directory.GetFiles(tmp), Is.Empty, "the spooled standard input is deleted");
        Assert.That(dir.Others(), Is.Empty, "no output, no temporary file");
    }

    /// <summary>The case was a FIFO as --weights (now refused before it is opened); an input FIFO blocks the same way.</summary>
    [Test]
    public void SigtermWhileOpeningAFifoNoOneWritesExitsWith143()
    {
        using var dir = new TempDir();
        string tmp = Directory.CreateDirectory(dir.File("tmp")).FullName;
        string fifo = dir.File("in.fifo");
        MakeFifo(fifo);
        using var elmo = ElmoProcess.Start(dir.Path, tmp, ["embed", fifo, "out.hdf5", "--all", "--stateless", .. Model]);
        elmo.WaitUntil(() => elmo.Error.Contains("writing all to out.hdf5"), "reading its input");
        Thread.Sleep(200); // now blocked opening the FIFO

        elmo.Signal("TERM");
        var (exit, err, _, after) = elmo.Wait(Prompt + 30);

        Assert.That(exit, Is.EqualTo(ElmoCli.Terminated), err);
        Assert.That(after, Is.LessThan(Prompt));
        Assert.That(err.TrimEnd().Split('\n').Last(), Does.StartWith("elmo: interrupted"));
        Assert.That(Directory.GetFiles(tmp), Is.Empty);
    }

    /// <summary>Issue 17.15: two SIGTERMs and the process kept running. The second signal ends a blocked run at once.</summary>
    [Test]
    public void ASecondSigtermEndsABlockedRunAtOnce()
    {
        using var dir = new TempDir();
        string tmp = Directory.CreateDirectory(dir.File("tmp")).FullName;
        string fifo = dir.File("in.fifo");
        MakeFifo(fifo);
        using var elmo = ElmoProcess.Start(dir.Path, tmp, ["embed", fifo, "out.hdf5", "--all", "--stateless", .. Model]);
        elmo.WaitUntil(() => elmo.Error.Contains("writing all to out.hdf5"), "reading its input");
        Thread.Sleep(200);

        elmo.Signal("TERM");
        Thread.Sleep(100);
        elmo.Signal("TERM");
        var (exit, err, _, after) = elmo.Wait(Prompt + 30);

        Assert.That(exit, Is.EqualTo(ElmoCli.Terminated), err);
        Assert.That(after, Is.LessThan(Interrupts.GracePeriod.TotalSeconds), "the second signal does not wait for the grace period");
        Assert.That(Directory.GetFiles(tmp), Is.Empty);
    }

    /// <summary>Issue 11: two Ctrl-C in a row while the output is being written left a full-size temporary file.</summary>
    [Test]
    public void TwoCtrlCWhileWritingLeaveNoTemporaryFileAndKeepTheExistingOutput()
    {
        using var dir = new TempDir();
        string tmp = Directory.CreateDirectory(dir.File("tmp")).FullName;
        var words = Reference.Sentences().SelectMany(s => s).ToArray();
        dir.Write("in.txt", string.Join("\n", Enumerable.Range(0, 2000).Select(i => string.Join(' ', Enumerable.Range(0, 20).Select(k => words[(i * 7 + k) % words.Length]))) + "\n"));
        dir.Write("out.hdf5", "previous output");
        using var elmo = ElmoProcess.Start(dir.Path, tmp, ["embed", "in.txt", "out.hdf5", "--all", "--quiet", "--batch-size", "1", "--threads", "1", "--stateful", .. Model]);
        elmo.RequireSigintNotIgnored();
        elmo.WaitUntil(() => dir.Others("in.txt", "out.hdf5", "tmp").Length > 0, "writing its temporary output");

        elmo.Signal("INT");
        elmo.Signal("INT");
        var (exit, err, _, after) = elmo.Wait(Prompt + 30);

        Assert.That(exit, Is.EqualTo(ElmoCli.Interrupted), err);
        Assert.That(after, Is.LessThan(Prompt));
        Assert.That(dir.Others("in.txt", "out.hdf5", "tmp"), Is.Empty, "the temporary output is deleted");
        Assert.That(File.ReadAllText(dir.File("out.hdf5")), Is.EqualTo("previous output"));
    }

    [Test]
    public void OneCtrlCStopsBetweenBatchesAndSaysSo()
    {
        using var dir = new TempDir();
        string tmp = Directory.CreateDirectory(dir.File("tmp")).FullName;
        var words = Reference.Sentences().SelectMany(s => s).ToArray();
        // Enough batches (~1 ms each) that the run is still going when the signal comes, even on a busy machine.
        dir.Write("in.txt", string.Join("\n", Enumerable.Range(0, 6000).Select(i => string.Join(' ', Enumerable.Range(0, 20).Select(k => words[(i * 3 + k) % words.Length]))) + "\n"));
        using var elmo = ElmoProcess.Start(dir.Path, tmp, ["embed", "in.txt", "out.hdf5", "--all", "--quiet", "--batch-size", "1", "--threads", "1", "--stateful", .. Model]);
        elmo.RequireSigintNotIgnored();
        elmo.WaitUntil(() => dir.Others("in.txt", "tmp").Any(n => n.EndsWith(".tmp", StringComparison.Ordinal)), "writing its temporary output");

        elmo.Signal("INT");
        var (exit, err, _, after) = elmo.Wait(Prompt + 30);

        Assert.That(exit, Is.EqualTo(ElmoCli.Interrupted), err);
        Assert.That(err, Does.Contain("elmo: cancelled; no output was written."));
        Assert.That(after, Is.LessThan(Prompt));
        Assert.That(dir.Others("in.txt", "tmp"), Is.Empty);
    }
}
