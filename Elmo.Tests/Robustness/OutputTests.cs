using System.Diagnostics;
using Elmo.Core;
using Elmo.Tests.Support;
using PureHDF;

namespace Elmo.Tests.Robustness;

/// <summary>
/// Output write failures: an <see cref="ElmoOutputException"/> naming the file, no partial file, no temporary
/// file left behind, and an existing file kept byte for byte.
/// </summary>
[TestFixture]
public class OutputTests
{
    private const string OldContent = "an existing output that must survive a failed run\n";

    /// <summary>A random model of the fixture's size: these tests are about writing, so they need no reference data.</summary>
    private static readonly Lazy<ElmoModel> LazyModel = new(() => new ElmoModel(RandomWeights.Create(ModelPresets.Tiny, 11)));

    private static ElmoModel Model => LazyModel.Value;

    /// <summary>Sentence <paramref name="i"/> (0-based) of a made-up corpus: 3 to 17 tokens, like the fixture's.</summary>
    private static string[] Words(int i) => Enumerable.Range(0, 3 + i * 7 % 15).Select(j => $"w{i}x{j}").ToArray();

    private static IReadOnlyList<InputSentence> Sentences(int count) =>
        Enumerable.Range(0, count).Select(i => new InputSentence(i + 1, string.Join(' ', Words(i)), Words(i))).ToList();

    private static void Embed(string path, int sentences = 30) =>
        CorpusEmbedder.Run(Model, Sentences(sentences), path, new EmbedSettings { Layout = OutputLayout.All, Threads = 1 });

    /// <summary>The directory holds exactly <paramref name="names"/>: no temporary file was left behind.</summary>
    private static void AssertOnly(string dir, params string[] names) =>
        Assert.That(Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal), Is.EqualTo(names.OrderBy(n => n, StringComparer.Ordinal)));

    [Test]
    public void PathThatIsADirectoryIsRefused()
    {
        using var dir = new TempDir();
        string target = dir.File("out.hdf5");
        Directory.CreateDirectory(target);
        var e = Assert.Throws<ElmoOutputException>(() => Embed(target))!;
        Assert.That(e.FilePath, Is.EqualTo(target));
        Assert.That(e.Message, Does.Contain("directory"));
        Assert.That(Directory.Exists(target), Is.True);
        AssertOnly(dir.Path, "out.hdf5");
    }

    [Test]
    public void MissingDirectoryIsRefused()
    {
        using var dir = new TempDir();
        string target = Path.Combine(dir.Path, "no", "such", "out.hdf5");
        var e = Assert.Throws<ElmoOutputException>(() => Embed(target))!;
        Assert.That(e.FilePath, Is.EqualTo(target));
        Assert.That(e.Message, Does.Contain("does not exist"));
        AssertOnly(dir.Path);
    }

    [Test]
    public void ParentThatIsAFileIsRefused()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("file"), OldContent);
        string target = Path.Combine(dir.File("file"), "out.hdf5");
        Assert.That(Assert.Throws<ElmoOutputException>(() => Embed(target))!.FilePath, Is.EqualTo(target));
        Assert.That(File.ReadAllText(dir.File("file")), Is.EqualTo(OldContent));
    }

    /// <summary>A writer that fails half way (as on a full disk) leaves the old file and no temporary file.</summary>
    [Test]
    public void WriterFailingHalfWayKeepsTheExistingFile()
    {
        using var dir = new TempDir();
        string target = dir.File("out.hdf5");
        File.WriteAllText(target, OldContent);
        string? tmpSeen = null;
        var e = Assert.Throws<ElmoOutputException>(() => AtomicFile.Write(target, tmp =>
        {
            tmpSeen = tmp;
            File.WriteAllBytes(tmp, new byte[10_000]);
            throw new IOException("No space left on device");
        }))!;
        Assert.That(e.FilePath, Is.EqualTo(target));
        Assert.That(e.Message, Does.Contain("No space left on device"));
        Assert.That(Path.GetDirectoryName(tmpSeen), Is.EqualTo(dir.Path), "the temporary file sits beside the output, so the final rename is atomic");
        Assert.That(File.ReadAllText(target), Is.EqualTo(OldContent));
        AssertOnly(dir.Path, "out.hdf5");
    }

    [Test]
    public void SuccessfulWriteReplacesTheFileAndLeavesNothingElse()
    {
        using var dir = new TempDir();
        string target = dir.File("out.hdf5");
        File.WriteAllText(target, OldContent);
        Embed(target, 3);
        using (var f = H5File.OpenRead(target))
        {
            Assert.That(f.Dataset("2").Space.Dimensions, Is.EqualTo(new ulong[] { 3, (ulong)Words(2).Length, 32 }));
        }
        AssertOnly(dir.Path, "out.hdf5");
    }

    /// <summary>A real full disk: a 64 KiB tmpfs (needs the right to mount; reported skipped without it).</summary>
    [Test]
    public void FullDiskKeepsTheExistingFile()
    {
        using var dir = new TempDir();
        string mount = dir.File("small");
        Directory.CreateDirectory(mount);
        using var fs = Tmpfs.Mount(mount, "size=64k");
        string target = Path.Combine(mount, "out.hdf5");
        File.WriteAllText(target, OldContent);

        var e = Assert.Throws<ElmoOutputException>(() => Embed(target))!; // ~120 KB of output
        Assert.That(e.FilePath, Is.EqualTo(target));
        Assert.That(File.ReadAllText(target), Is.EqualTo(OldContent));
        AssertOnly(mount, "out.hdf5");
    }

    /// <summary>A read-only directory: chmod for ordinary users, a read-only mount for root (who ignores modes).</summary>
    [Test]
    public void ReadOnlyDirectoryKeepsTheExistingFile()
    {
        using var dir = new TempDir();
        string ro = dir.File("ro");
        Directory.CreateDirectory(ro);
        string target = Path.Combine(ro, "out.hdf5");
        Tmpfs? fs = null;
        try
        {
            if (Tmpfs.IsRoot)
            {
                fs = Tmpfs.Mount(ro, "size=1m");
                File.WriteAllText(target, OldContent);
                fs.Remount("remount,ro");
            }
            else
            {
                File.WriteAllText(target, OldContent);
                if (OperatingSystem.IsWindows()) Assert.Ignore("Read-only directories are tested on Unix.");
                else File.SetUnixFileMode(ro, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            }

            var e = Assert.Throws<ElmoOutputException>(() => Embed(target, 3))!;
            Assert.That(e.FilePath, Is.EqualTo(target));
            Assert.That(File.ReadAllText(target), Is.EqualTo(OldContent));
            AssertOnly(ro, "out.hdf5");
        }
        finally
        {
            if (fs is null && !OperatingSystem.IsWindows()) File.SetUnixFileMode(ro, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            fs?.Dispose();
        }
    }

    /// <summary>Cancelled between batches: nothing is written.</summary>
    [Test]
    public void CancelledRunWritesNothing()
    {
        using var dir = new TempDir();
        string target = dir.File("out.hdf5");
        File.WriteAllText(target, OldContent);
        using var cts = new CancellationTokenSource();
        Assert.Catch<OperationCanceledException>(() => CorpusEmbedder.Run(Model, Sentences(30), target,
            new EmbedSettings { BatchSize = 3, Threads = 1 }, p => { if (p.Sentences >= 6) cts.Cancel(); }, cts.Token));
        Assert.That(File.ReadAllText(target), Is.EqualTo(OldContent));
        AssertOnly(dir.Path, "out.hdf5");
    }
}

/// <summary>A tmpfs mounted for a test and unmounted on dispose; skips the test when mounting is not allowed.</summary>
internal sealed class Tmpfs : IDisposable
{
    private readonly string _path;

    private Tmpfs(string path) => _path = path;

    public static bool IsRoot => Run("id", "-u").Output.Trim() == "0";

    public static Tmpfs Mount(string path, string options)
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("Mounting a tmpfs needs Linux.");
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", options, "tmpfs", path);
        if (code != 0) Assert.Ignore($"Cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {output.Trim()}");
        return new Tmpfs(path);
    }

    public void Remount(string options)
    {
        var (code, output) = Run("mount", "-o", options, _path);
        Assert.That(code, Is.Zero, "remount: " + output);
    }

    public void Dispose()
    {
        // A handle left open by the code under test keeps the mount busy: detach it anyway, then fail loudly.
        var (code, output) = Run("umount", _path);
        if (code != 0)
        {
            Run("umount", "-l", _path);
            Assert.Fail($"umount {_path} failed ({output.Trim()}): a file handle was left open.");
        }
    }

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
