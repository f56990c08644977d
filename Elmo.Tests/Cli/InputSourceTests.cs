using System.Diagnostics;
using Elmo.Cli;
using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Cli;

/// <summary>
/// Inputs that can be read only once (a FIFO, <c>&lt;(cmd)</c>) are read like standard input: copied once, then read
/// twice from the copy. A byte-order mark is kept as Python keeps it. Files named by flags that are directories say so.
/// </summary>
[TestFixture]
public class InputSourceTests
{
    private const string Text = "The cat sat .\nHello world\n";

    private static void MakeFifo(string path)
    {
        if (OperatingSystem.IsWindows()) Assert.Ignore("FIFOs are tested on Unix.");
        using var p = Process.Start("mkfifo", [path]);
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.Zero, "mkfifo");
    }

    /// <summary>Writes <paramref name="content"/> into the FIFO once a reader opens it, then closes it (EOF).</summary>
    private static Task Feed(string fifo, string content) => Task.Run(() => File.WriteAllText(fifo, content));

    private static void AssertSameDatasets(string a, string b)
    {
        var r = CliHarness.Run("compare", a, b, "--atol", "0", "--rtol", "0");
        Assert.That(r.Exit, Is.EqualTo(0), r.ToString());
    }

    /// <summary>Issue 17.16: a named FIFO as INPUT hung after the first pass.</summary>
    [Test]
    public void ANamedFifoAsInputIsReadOnceAndEmbedsLikeTheFile()
    {
        string[] model = CliHarness.FixtureModel; // before any task: missing reference data skips the test
        using var dir = new TempDir();
        string fifo = dir.File("in.fifo");
        MakeFifo(fifo);
        var writer = Feed(fifo, Text);

        var run = Task.Run(() => CliHarness.Run(["embed", fifo, dir.File("fifo.hdf5"), "--all", .. model]));
        Assert.That(run.Wait(TimeSpan.FromSeconds(120)), Is.True, "no hang after the first pass");
        var plain = CliHarness.Run(["embed", dir.Write("in.txt", Text), dir.File("file.hdf5"), "--all", "--quiet", .. CliHarness.FixtureModel]);

        Assert.That(run.Result.Exit, Is.EqualTo(0), run.Result.ToString());
        Assert.That(writer.IsCompletedSuccessfully, Is.True);
        Assert.That(run.Result.Err, Does.Contain($"{fifo}: 2 sentences"));
        Assert.That(plain.Exit, Is.EqualTo(0), plain.ToString());
        AssertSameDatasets(dir.File("fifo.hdf5"), dir.File("file.hdf5"));
        Assert.That(Directory.GetFiles(Path.GetTempPath(), $"elmo-input.{Environment.ProcessId}.*"), Is.Empty, "the copy is deleted");
    }

    /// <summary>Issue 17.16: <c>elmo embed &lt;(cat s.txt) ...</c> failed with "changed while it was being embedded".</summary>
    [Test]
    public void ProcessSubstitutionAsInputWorks()
    {
        using var dir = new TempDir();
        string tmp = Directory.CreateDirectory(dir.File("tmp")).FullName;
        dir.Write("s.txt", Text);
        string model = $"--options '{Reference.FixtureOptions}' --weights '{Reference.FixtureWeights}'";
        using var elmo = ElmoProcess.Shell(dir.Path, tmp, $"$ELMO embed <(cat s.txt) sub.hdf5 --all --quiet {model}");
        elmo.Input.Close();
        var (exit, err, _, _) = elmo.Wait();
        var plain = CliHarness.Run(["embed", dir.File("s.txt"), dir.File("file.hdf5"), "--all", "--quiet", .. CliHarness.FixtureModel]);

        Assert.That(exit, Is.EqualTo(0), err);
        AssertSameDatasets(dir.File("sub.hdf5"), dir.File("file.hdf5"));
        Assert.That(Directory.GetFiles(tmp), Is.Empty, "the copy is deleted");
    }

    [Test]
    public void PipesWorkForTheWarmUpTextAndTheVocabularyToo()
    {
        string[] model = CliHarness.FixtureModel; // before any task: missing reference data skips the test
        using var dir = new TempDir();
        string warmFifo = dir.File("warm.fifo"), vocabFifo = dir.File("vocab.fifo");
        MakeFifo(warmFifo);
        MakeFifo(vocabFifo);
        string input = dir.Write("in.txt", Text);
        const string vocab = "<S>\n</S>\ncat\ndog\n";

        var feedWarm = Feed(warmFifo, "Once upon a time .\n");
        var warm = Task.Run(() => CliHarness.Run(["embed", input, dir.File("a.hdf5"), "--top", "--quiet", "--warm-up", warmFifo, .. model]));
        var feedVocab = Feed(vocabFifo, vocab);
        var dump = Task.Run(() => CliHarness.Run(["dump-token-embeddings", vocabFifo, dir.File("v.hdf5"), "--quiet", .. model]));
        Assert.That(Task.WaitAll([warm, dump], TimeSpan.FromSeconds(120)), Is.True, "no hang");

        var warmFile = CliHarness.Run(["embed", input, dir.File("b.hdf5"), "--top", "--quiet", "--warm-up", dir.Write("warm.txt", "Once upon a time .\n"), .. CliHarness.FixtureModel]);
        var dumpFile = CliHarness.Run(["dump-token-embeddings", dir.Write("vocab.txt", vocab), dir.File("w.hdf5"), "--quiet", .. CliHarness.FixtureModel]);
        Assert.That(warm.Result.Exit, Is.EqualTo(0), warm.Result.ToString());
        Assert.That(dump.Result.Exit, Is.EqualTo(0), dump.Result.ToString());
        Assert.That(warmFile.Exit + dumpFile.Exit, Is.EqualTo(0));
        AssertSameDatasets(dir.File("a.hdf5"), dir.File("b.hdf5"));
        AssertSameDatasets(dir.File("v.hdf5"), dir.File("w.hdf5"));
        Assert.That(feedWarm.IsCompletedSuccessfully && feedVocab.IsCompletedSuccessfully, Is.True);
    }

    /// <summary>
    /// Issue 17.19: a UTF-8 byte-order mark at the start of a .txt input was dropped, while AllenNLP (Python's
    /// <c>open()</c> and <c>str.split()</c>) keeps U+FEFF in the first token. A user comparing with AllenNLP expects
    /// the same keys and vectors, so it is kept, with a note. JSON lines ignore it (a JSON parser may).
    /// </summary>
    [Test]
    public void AByteOrderMarkIsKeptInTheFirstTokenAsInAllenNlpWithANote()
    {
        using var dir = new TempDir();
        string input = dir.File("bom.txt"), output = dir.File("out.hdf5");
        File.WriteAllBytes(input, [0xEF, 0xBB, 0xBF, .. "The cat sat .\nHello\n"u8]);

        var r = CliHarness.Run(["embed", input, output, "--all", "--stateless", .. CliHarness.FixtureModel]);

        Assert.That(r.Exit, Is.EqualTo(0), r.ToString());
        Assert.That(r.Err, Does.Contain("starts with a UTF-8 byte-order mark"));
        Assert.That(CliHarness.ReadString(output, "sentence_to_index"), Does.StartWith("{\"\\ufeffThe cat sat .\": \"0\""), "the key Python's json.dumps writes");
        var expected = Reference.TinyModel.CreateSession(StateMode.Stateless).Run([["\uFEFFThe", "cat", "sat", "."]]);
        Assert.That(CliHarness.Read(output, "0").Data, Is.EqualTo(expected.SentenceLayers(0)), "U+FEFF is part of the first token");

        string jsonl = dir.File("bom.jsonl");
        File.WriteAllBytes(jsonl, [0xEF, 0xBB, 0xBF, .. "[\"The\", \"cat\"]\n"u8]);
        var j = CliHarness.Run(["embed", jsonl, dir.File("j.hdf5"), "--all", "--stateless", "--quiet", .. CliHarness.FixtureModel]);
        Assert.That(j.Exit, Is.EqualTo(0), j.ToString());
        Assert.That(CliHarness.ReadString(dir.File("j.hdf5"), "sentence_to_index"), Is.EqualTo("{\"The cat\": \"0\"}"));
    }

    [Test]
    public void PythonKeepsTheByteOrderMarkAsWeSay()
    {
        string? python = new[] { "/usr/bin/python3", "/usr/local/bin/python3" }.FirstOrDefault(File.Exists);
        if (python is null) Assert.Ignore("python3 is not installed: the claim about Python is checked where it is.");
        using var dir = new TempDir();
        string input = dir.File("bom.txt");
        File.WriteAllBytes(input, [0xEF, 0xBB, 0xBF, .. "The cat\n"u8]);
        var info = new ProcessStartInfo(python, ["-c", "import sys; line = open(sys.argv[1], encoding='utf-8').readline(); print(repr(line.strip().split()))", input])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var p = Process.Start(info)!;
        string output = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        Assert.That(output, Is.EqualTo("['\\ufeffThe', 'cat']"));
        Assert.That(InputReader.SplitPython(InputReader.StripPython("\uFEFFThe cat")), Is.EqualTo(new[] { "\uFEFFThe", "cat" }));
    }

    /// <summary>Issue 17.19: <c>--warm-up DIR</c> / <c>--warm-state DIR</c> said "does not exist".</summary>
    [TestCase("--warm-up")]
    [TestCase("--warm-state")]
    public void ADirectoryGivenForAFileSaysSo(string flag)
    {
        using var dir = new TempDir();
        string folder = Directory.CreateDirectory(dir.File("folder")).FullName;
        var r = CliHarness.Run(["embed", dir.Write("in.txt", "a b\n"), dir.File("out.hdf5"), "--all", flag, folder, .. CliHarness.FixtureModel]);
        Assert.That(r.Exit, Is.EqualTo(ElmoCli.BadInput), r.ToString());
        Assert.That(r.Err.Trim(), Is.EqualTo($"elmo: {flag}: '{folder}' is a directory, not a file."));
        if (flag == "--warm-up")
        {
            var w = CliHarness.Run(["warm-state", dir.File("w.hdf5"), flag, folder, .. CliHarness.FixtureModel]);
            Assert.That(w.Err.Trim(), Is.EqualTo($"elmo: {flag}: '{folder}' is a directory, not a file."));
        }
    }
}
