using System.Diagnostics;
using System.Net.Sockets;
using Elmo.Cli;
using Elmo.Core;
using Elmo.Tests.Support;
using Tmpfs = Elmo.Tests.Robustness.Tmpfs;

namespace Elmo.Tests.Cli;

/// <summary>
/// The one output-path policy (<see cref="AtomicFile"/>) through every command that writes: nothing a user points
/// <c>elmo</c> at is destroyed unless it is the declared output and a regular file. Device nodes, FIFOs, sockets and
/// directories are kept (streamed into, or refused); an output that is one of the command's inputs, by any path (the
/// same, a symbolic link, a hard link), is refused naming both; stale temporary files of dead processes are removed.
/// </summary>
[TestFixture]
public class OutputPolicyTests
{
    /// <summary>The commands that write a file, each with its inputs as copies in <paramref name="dir"/>: (arguments with OUTPUT as "{out}", inputs by role).</summary>
    private static IEnumerable<(string Command, string[] Args, (string Role, string Path)[] Inputs)> Writers(TempDir dir)
    {
        string options = Copy(dir, Reference.FixtureOptions, "options.json");
        string weights = Copy(dir, Reference.FixtureWeights, "weights.hdf5");
        string input = dir.Write("in.txt", "The cat sat .\nHello\n");
        string warmUp = dir.Write("warm-up.txt", "Once upon a time .\n");
        string vocab = dir.Write("vocab.txt", "<S>\n</S>\ncat\n");
        string warmState = dir.File("warm.hdf5");
        WarmStart.Save(Reference.TinyModel.BuiltInWarmState, warmState);
        string[] model = ["--options", options, "--weights", weights];
        yield return ("embed", ["embed", input, "{out}", "--all", "--quiet", "--warm-up", warmUp, .. model],
            [("INPUT", input), ("--warm-up", warmUp), ("--options", options), ("--weights", weights)]);
        yield return ("embed", ["embed", input, "{out}", "--top", "--quiet", "--warm-state", warmState, .. model], [("--warm-state", warmState)]);
        yield return ("warm-state", ["warm-state", "{out}", "--quiet", "--warm-up", warmUp, .. model],
            [("--warm-up", warmUp), ("--options", options), ("--weights", weights)]);
        yield return ("dump-token-embeddings", ["dump-token-embeddings", vocab, "{out}", "--quiet", .. model],
            [("VOCAB", vocab), ("--options", options), ("--weights", weights)]);
    }

    private static string Copy(TempDir dir, string source, string name)
    {
        string path = dir.File(name);
        File.Copy(source, path);
        return path;
    }

    private static string[] With(string[] args, string output) => args.Select(a => a == "{out}" ? output : a).ToArray();

    private static void Tool(string file, params string[] args)
    {
        if (OperatingSystem.IsWindows()) Assert.Ignore($"{file} is Unix.");
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, UseShellExecute = false })!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) Assert.Ignore($"{file} {string.Join(' ', args)} failed here: {err.Trim()}");
    }

    private static void AssertOneLine(CliResult r, int exit, params string[] mentions)
    {
        Assert.That(r.Exit, Is.EqualTo(exit), r.ToString());
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.Contains("demo model", StringComparison.Ordinal)).ToArray();
        Assert.That(lines, Has.Length.EqualTo(1), r.ToString());
        Assert.That(lines[0], Does.StartWith("elmo: ").And.Not.Contain("internal error"));
        foreach (string m in mentions) Assert.That(lines[0], Does.Contain(m));
    }

    /// <summary>Issue 17.2: OUTPUT equal to any input (same path, symbolic link, hard link) is refused naming both, and the input is kept byte for byte.</summary>
    [Test]
    public void AnOutputThatIsOneOfTheCommandsInputsIsRefusedByIdentity()
    {
        int cases = 0;
        foreach (string alias in new[] { "same", "symlink", "hardlink" })
        {
            using var dir = new TempDir();
            foreach (var (command, args, inputs) in Writers(dir))
            {
                foreach (var (role, path) in inputs)
                {
                    string output = path;
                    if (alias == "symlink")
                    {
                        output = dir.File($"link-{cases}");
                        File.CreateSymbolicLink(output, path);
                    }
                    else if (alias == "hardlink")
                    {
                        output = dir.File($"hard-{cases}");
                        Tool("ln", path, output);
                    }
                    byte[] before = File.ReadAllBytes(path);

                    var r = CliHarness.Run(With(args, output));

                    AssertOneLine(r, ElmoCli.BadInput, $"Cannot write '{output}'", "same file as " + role);
                    if (alias != "same") Assert.That(r.Err, Does.Contain(path), "names the input too");
                    Assert.That(File.ReadAllBytes(path), Is.EqualTo(before), $"{command}: {role} kept ({alias})");
                    cases++;
                }
            }
        }
        Assert.That(cases, Is.EqualTo(3 * 11));
    }

    [Test]
    public void WarmStateOntoItsOwnWeightsThroughACachedPublishedModelIsRefused()
    {
        using var dir = new TempDir();
        var cache = new ModelCache(dir.File("cache"));
        foreach (var (url, source) in new[] { (PublishedModels.Small.OptionsUrl, Reference.FixtureOptions), (PublishedModels.Small.WeightsUrl, Reference.FixtureWeights) })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(cache.PathFor(url))!);
            File.Copy(source, cache.PathFor(url));
        }
        string weights = cache.PathFor(PublishedModels.Small.WeightsUrl);
        byte[] before = File.ReadAllBytes(weights);

        var r = CliHarness.Run("warm-state", weights, "--model", "small", "--cache-dir", dir.File("cache"), "--quiet");

        AssertOneLine(r, ElmoCli.BadInput, "same file as --weights");
        Assert.That(File.ReadAllBytes(weights), Is.EqualTo(before));
    }

    /// <summary>Issue 17.1: <c>mknod d/null c 1 3; elmo embed s.txt d/null</c> turned the device into a regular file.</summary>
    [Test]
    public void TheNullDeviceIsStreamedIntoByEveryCommandAndStaysADevice()
    {
        using var dir = new TempDir();
        string node = dir.File("null");
        Tool("mknod", node, "c", "1", "3");
        foreach (var (command, args, _) in Writers(dir))
        {
            var r = CliHarness.Run(With(args, node));
            Assert.That(r.Exit, Is.EqualTo(0), command + ": " + r);
            Assert.That(FileNode.Of(node).Kind, Is.EqualTo(FileKind.CharacterDevice), command);
            Assert.That(FileNode.Of(node).IsNullDevice, Is.True);
        }
        Assert.That(dir.Others("options.json", "weights.hdf5", "in.txt", "warm-up.txt", "vocab.txt", "warm.hdf5", "null"), Is.Empty, "no temporary file left");
    }

    [Test]
    public void AFifoGetsTheCompleteFileStreamedAndStaysAFifo()
    {
        using var dir = new TempDir();
        string fifo = dir.File("out.fifo");
        Tool("mkfifo", fifo);
        var (_, args, _) = Writers(dir).First();
        var reader = Task.Run(() => File.ReadAllBytes(fifo));

        var r = CliHarness.Run(With(args, fifo));
        var streamed = reader.Wait(TimeSpan.FromSeconds(60)) ? reader.Result : null;
        var plain = CliHarness.Run(With(args, dir.File("plain.hdf5")));

        Assert.That(r.Exit, Is.EqualTo(0), r.ToString());
        Assert.That(FileNode.Of(fifo).Kind, Is.EqualTo(FileKind.Fifo));
        Assert.That(plain.Exit, Is.EqualTo(0), plain.ToString());
        Assert.That(streamed, Is.EqualTo(File.ReadAllBytes(dir.File("plain.hdf5"))), "the reader gets the same bytes as a regular file");
    }

    [Test]
    public void DirectoriesSocketsAndOtherDevicesAreRefusedAndKept()
    {
        using var dir = new TempDir();
        string socketPath = dir.File("sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        string directory = Directory.CreateDirectory(dir.File("a-directory")).FullName;
        var targets = new List<(string Path, string Says, FileKind Kind)>
        {
            (socketPath, "it is a socket", FileKind.Socket),
            (directory, "it is a directory", FileKind.Directory),
        };
        if (Tmpfs.IsRoot)
        {
            string tty = dir.File("tty");
            Tool("mknod", tty, "c", "5", "0");
            string disk = dir.File("disk");
            Tool("mknod", disk, "b", "7", "0");
            targets.Add((tty, "it is a character device", FileKind.CharacterDevice));
            targets.Add((disk, "it is a block device", FileKind.BlockDevice));
        }
        foreach (var (command, args, _) in Writers(dir))
        {
            foreach (var (path, says, kind) in targets)
            {
                var r = CliHarness.Run(With(args, path));
                AssertOneLine(r, ElmoCli.BadInput, $"Cannot write '{path}'", says);
                Assert.That(FileNode.Of(path).Kind, Is.EqualTo(kind), $"{command} kept {path}");
            }
        }
        if (!Tmpfs.IsRoot) Assert.Ignore("Device nodes need root to create; sockets and directories were checked.");
    }

    [Test]
    public void MakeModelRefusesAFileAsOutDirAndWritesThroughTheSamePolicy()
    {
        using var dir = new TempDir();
        string file = dir.Write("file", "keep me");
        AssertOneLine(CliHarness.Run("make-model", "--preset", "tiny", file), ElmoCli.BadInput, "it is a regular file, not a directory");
        Assert.That(File.ReadAllText(file), Is.EqualTo("keep me"));

        string model = Directory.CreateDirectory(dir.File("model")).FullName;
        Directory.CreateDirectory(Path.Combine(model, "weights.hdf5"));
        AssertOneLine(CliHarness.Run("make-model", "--preset", "tiny", model), ElmoCli.BadInput, "weights.hdf5", "it is a directory");
        Assert.That(File.Exists(Path.Combine(model, "options.json")), Is.False, "nothing written when one file cannot be");
    }

    /// <summary>Issue 11 / 17.19: make-model replaced an existing model silently.</summary>
    [Test]
    public void MakeModelReplacesAnExistingModelOnlyWhenCompleteAndSaysSo()
    {
        using var dir = new TempDir();
        string model = dir.File("model");
        Assert.That(CliHarness.Run("make-model", "--preset", "tiny", "--seed", "1", model).Exit, Is.EqualTo(0));
        byte[] first = File.ReadAllBytes(Path.Combine(model, "weights.hdf5"));

        var again = CliHarness.Run("make-model", "--preset", "tiny", "--seed", "2", model);

        Assert.That(again.Exit, Is.EqualTo(0), again.ToString());
        Assert.That(again.Err, Does.Contain($"replaced the existing options.json and weights.hdf5 in '{model}'"));
        Assert.That(File.ReadAllBytes(Path.Combine(model, "weights.hdf5")), Is.Not.EqualTo(first));
        Assert.That(Directory.GetFileSystemEntries(model).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "options.json", "weights.hdf5" }));
    }

    /// <summary>Issue 17.19: on a full disk make-model left an empty model folder (and would have left a mixed pair in an existing one).</summary>
    [Test]
    public void MakeModelOnAFullDiskLeavesNoFolderAndKeepsAnExistingModel()
    {
        using var dir = new TempDir();
        string mount = Directory.CreateDirectory(dir.File("small")).FullName;
        using var fs = Tmpfs.Mount(mount, "size=256k");
        string existing = Path.Combine(mount, "existing");
        Directory.CreateDirectory(existing);
        File.WriteAllText(Path.Combine(existing, "options.json"), "old options");
        File.WriteAllText(Path.Combine(existing, "weights.hdf5"), "old weights");

        var fresh = CliHarness.Run("make-model", "--preset", "tiny", Path.Combine(mount, "new"));
        var replace = CliHarness.Run("make-model", "--preset", "tiny", existing);

        AssertOneLine(fresh, ElmoCli.BadInput, "No space left on device");
        Assert.That(Directory.Exists(Path.Combine(mount, "new")), Is.False, "the folder it created is removed");
        AssertOneLine(replace, ElmoCli.BadInput, "No space left on device");
        Assert.That(File.ReadAllText(Path.Combine(existing, "options.json")), Is.EqualTo("old options"));
        Assert.That(File.ReadAllText(Path.Combine(existing, "weights.hdf5")), Is.EqualTo("old weights"));
        Assert.That(Directory.GetFileSystemEntries(existing), Has.Length.EqualTo(2), "no temporary file left");
    }

    /// <summary>Issue 17.17: an empty OUTPUT was an internal ArgumentException.</summary>
    [TestCase("embed", "{in}", "", "--all", "--model", "demo")]
    [TestCase("warm-state", "", "--model", "demo")]
    [TestCase("make-model", "--preset", "tiny", "")]
    [TestCase("dump-token-embeddings", "{in}", "", "--model", "demo")]
    [TestCase("embed", "", "out.hdf5", "--all", "--model", "demo")]
    [TestCase("dump-token-embeddings", "", "out.hdf5", "--model", "demo")]
    public void AnEmptyPathIsAUsageError(params string[] args)
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", "a b\n");
        var r = CliHarness.Run(args.Select(a => a == "{in}" ? input : a == "out.hdf5" ? dir.File(a) : a).ToArray());
        AssertOneLine(r, ElmoCli.UsageError, "is empty");
    }

    /// <summary>Issue 11: a temporary file left by a killed run was never removed. The next write of the same output removes those of dead processes.</summary>
    [Test]
    public void StaleTemporaryFilesOfDeadProcessesAreRemovedByTheNextWrite()
    {
        using var dir = new TempDir();
        string output = dir.File("out.hdf5");
        int dead;
        using (var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!)
        {
            p.WaitForExit();
            dead = p.Id;
        }
        string stale = dir.Write($".out.hdf5.{dead}.{Guid.NewGuid():N}.tmp", "left by a killed run");
        string live = dir.Write($".out.hdf5.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp", "being written by a live process");
        string other = dir.Write($".other.hdf5.{dead}.{Guid.NewGuid():N}.tmp", "another output's");
        string reused = dir.Write($".out.hdf5.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp", "left by an earlier process with this id");
        File.SetLastWriteTimeUtc(reused, Process.GetCurrentProcess().StartTime.ToUniversalTime().AddMinutes(-10));

        var r = CliHarness.Run("embed", dir.Write("in.txt", "a b\n"), output, "--all", "--model", "demo", "--quiet");

        Assert.That(r.Exit, Is.EqualTo(0), r.ToString());
        Assert.That(File.Exists(stale), Is.False, "a dead process's temporary file is removed");
        Assert.That(File.Exists(reused), Is.False, "so is one older than the live process that now has its id");
        Assert.That(File.Exists(live), Is.True, "a live process's is kept");
        Assert.That(File.Exists(other), Is.True, "another output's is not touched");
    }

    [Test]
    public void ASymbolicLinkOutputReplacesTheFileItPointsToAndKeepsTheLink()
    {
        using var dir = new TempDir();
        string target = dir.Write("target.hdf5", "old");
        string link = dir.File("link.hdf5");
        File.CreateSymbolicLink(link, target);

        var r = CliHarness.Run("embed", dir.Write("in.txt", "a b\n"), link, "--all", "--model", "demo", "--quiet");

        Assert.That(r.Exit, Is.EqualTo(0), r.ToString());
        Assert.That(new FileInfo(link).LinkTarget, Is.EqualTo(target), "the link is kept");
        Assert.That(CliHarness.Read(target, "0").Shape, Is.EqualTo(new[] { 3, 2, 128 }), "the file it points to is the output");
    }

    [Test]
    public void WeightsThatAreAPipeAreRefusedWithoutOpeningThem()
    {
        using var dir = new TempDir();
        string fifo = dir.File("weights.fifo");
        Tool("mkfifo", fifo);
        var watch = Stopwatch.StartNew();
        var r = CliHarness.Run("embed", dir.Write("in.txt", "a b\n"), dir.File("out.hdf5"), "--all", "--options", Reference.FixtureOptions, "--weights", fifo, "--quiet");
        AssertOneLine(r, ElmoCli.BadInput, "--weights", "is a pipe (FIFO)", "regular file");
        Assert.That(watch.Elapsed.TotalSeconds, Is.LessThan(30), "no hang on a FIFO no one writes");
    }

    [Test]
    public void StandardOutputAsOutputStreamsTheFileAndCreatesNoFileNamedDash()
    {
        using var dir = new TempDir();
        string tmp = Directory.CreateDirectory(dir.File("tmp")).FullName;
        dir.Write("in.txt", "The cat sat .\n");
        using var elmo = ElmoProcess.Start(dir.Path, tmp, ["embed", "in.txt", "-", "--top", "--quiet", .. CliHarness.FixtureModel]);
        elmo.Input.Close();
        var (exit, err, stdout, _) = elmo.Wait();

        Assert.That(exit, Is.EqualTo(0), err);
        Assert.That(File.Exists(dir.File("-")), Is.False, "no file named '-'");
        File.WriteAllBytes(dir.File("streamed.hdf5"), stdout);
        Assert.That(CliHarness.Read(dir.File("streamed.hdf5"), "0").Shape, Is.EqualTo(new[] { 4, 32 }));
        Assert.That(Directory.GetFiles(tmp), Is.Empty, "the temporary file is removed");
    }
}
