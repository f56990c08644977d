using Elmo.Cli;
using Elmo.Core;
using Elmo.Tests.Cli;

namespace Elmo.Tests.Scale;

/// <summary>Every bad set of parts gets one line naming the part and the problem, exit 1, and no output.</summary>
public class BadPartTests
{
    private static readonly string[] Demo = ["--model", "demo", "--quiet"];

    /// <summary>Parts 1–3 of 3 of one run, and a few variants, made once for every test.</summary>
    private static readonly Lazy<TempDir> Parts = new(() =>
    {
        var dir = new TempDir();
        string input = dir.Write("in.txt", ScaleCorpus.Text(60, distinct: false));
        dir.Write("other.txt", ScaleCorpus.Text(60, distinct: false, seed: 8));
        void Embed(string output, string file, params string[] flags)
        {
            var run = CliHarness.Run(["embed", dir.File(file), dir.File(output), .. Demo, .. flags]);
            Assert.That(run.Exit, Is.Zero, run.ToString());
        }
        for (int k = 1; k <= 3; k++) Embed($"p{k}.hdf5", "in.txt", "--top", "--shard", $"{k}/3");
        Embed("of4.hdf5", "in.txt", "--top", "--shard", "2/4");
        Embed("other-input.hdf5", "other.txt", "--top", "--shard", "2/3");
        Embed("stateless.hdf5", "in.txt", "--top", "--stateless", "--shard", "2/3");
        Embed("average.hdf5", "in.txt", "--average", "--shard", "2/3");
        Embed("single.hdf5", "in.txt", "--top");
        var tiny = CliHarness.Run("make-model", "--preset", "tiny", dir.File("tiny"));
        Assert.That(tiny.Exit, Is.Zero, tiny.ToString());
        var model = CliHarness.Run("embed", dir.File("in.txt"), dir.File("tiny.hdf5"), "--options", dir.File("tiny/options.json"), "--weights", dir.File("tiny/weights.hdf5"), "--top", "--shard", "2/3", "--quiet");
        Assert.That(model.Exit, Is.Zero, model.ToString());
        File.Copy(dir.File("p2.hdf5"), dir.File("p2-copy.hdf5"));
        return dir;
    });

    [OneTimeTearDown]
    public void RemoveParts()
    {
        if (Parts.IsValueCreated) Parts.Value.Dispose();
    }

    [TestCase("p1 p3", "Shard 2 of 3 is missing")]
    [TestCase("p1", "Shards 2, 3 of 3 are missing")]
    [TestCase("p1 p2 p2-copy p3", "are both shard 2/3")]
    [TestCase("p1 p2 p2 p3", "is given twice")]
    [TestCase("p1 of4 p3", "comes from a split into a different number of parts")]
    [TestCase("p1 other-input p3", "was embedded from a different input")]
    [TestCase("p1 stateless p3", "was embedded with different settings (top, stateless")]
    [TestCase("p1 average p3", "was embedded with different settings (average")]
    [TestCase("p1 tiny p3", "was embedded with a different model")]
    [TestCase("p1 single p3", "is not a part of a split run")]
    [TestCase("p1 in.txt p3", "is not an HDF5 file")]
    public void ASetThatIsNotOneRunIsRefused(string names, string message)
    {
        var dir = Parts.Value;
        var files = names.Split(' ').Select(n => dir.File(n.Contains('.') ? n : n + ".hdf5")).ToArray();
        AssertRefused(files, message);
    }

    [TestCase("truncated", "is incomplete or damaged")]
    [TestCase("flipped value", "is damaged: its checksum is")]
    [TestCase("flipped name", "is damaged: its checksum is")]
    [TestCase("flipped record", "was embedded from a different input")]
    public void ADamagedPartIsRefused(string damage, string message)
    {
        var dir = Parts.Value;
        string bad = dir.File($"bad-{damage.Replace(' ', '-')}.hdf5");
        File.Copy(dir.File("p2.hdf5"), bad, overwrite: true);
        var part = PartFile.Read(bad);
        var bytes = File.ReadAllBytes(bad);
        switch (damage)
        {
            case "truncated":
                bytes = bytes[..(bytes.Length - 100)];
                break;
            case "flipped value":
                bytes[part.Layout.DataStart + part.Shape.DataBytes / 2] ^= 0x10;
                break;
            case "flipped name":
                bytes[part.Layout.LocalHeapDataStart + 8] ^= 0x01;
                break;
            default:
                // A digit of the recorded input hash, in the root group's header.
                int at = System.Text.Encoding.ASCII.GetString(bytes).IndexOf("siphash128 ", (int)part.Layout.RootHeaderStart, StringComparison.Ordinal) + 11;
                bytes[at] = (byte)(bytes[at] == (byte)'0' ? '1' : '0');
                break;
        }
        File.WriteAllBytes(bad, bytes);
        AssertRefused([dir.File("p1.hdf5"), bad, dir.File("p3.hdf5")], message);
    }

    [Test]
    public void ADamageFoundAfterItsBytesWereCopiedLeavesTheOldOutputAsItWas()
    {
        // The checksum is verified on the bytes as they are copied, so a flipped last value of the last part is found
        // only once every value is in the temporary output: that file must go, and the existing OUTPUT stay untouched.
        var dir = Parts.Value;
        string bad = dir.File("bad-last-value.hdf5");
        File.Copy(dir.File("p3.hdf5"), bad, overwrite: true);
        var part = PartFile.Read(bad);
        var bytes = File.ReadAllBytes(bad);
        bytes[part.Layout.DataStart + part.Shape.DataBytes - 1] ^= 0x01;
        File.WriteAllBytes(bad, bytes);
        using var outDir = new TempDir();
        string output = outDir.Write("merged.hdf5", "an earlier output");
        var run = CliHarness.Run("merge", output, dir.File("p1.hdf5"), dir.File("p2.hdf5"), bad);
        Assert.That(run.Exit, Is.EqualTo(ElmoCli.BadInput), run.ToString());
        Assert.That(run.Err.Trim().Split('\n'), Has.Length.EqualTo(1), run.ToString());
        Assert.That(run.Err, Does.StartWith($"elmo: Part '{bad}' is damaged: its checksum is").And.Contain("(embed shard 3/3 again)"));
        Assert.That(File.ReadAllText(output), Is.EqualTo("an earlier output"), "the existing output is kept");
        Assert.That(Directory.GetFileSystemEntries(outDir.Path), Is.EqualTo(new[] { output }), "no temporary file left");
    }

    [Test]
    public void GoodPartsMergeAndAMissingPartOrPatternIsNamed()
    {
        var dir = Parts.Value;
        using var outDir = new TempDir();
        Assert.That(CliHarness.Run("merge", outDir.File("ok.hdf5"), dir.File("p1.hdf5"), dir.File("p2.hdf5"), dir.File("p3.hdf5"), "--quiet").Exit, Is.Zero);
        Assert.That(File.ReadAllBytes(outDir.File("ok.hdf5")), Is.EqualTo(File.ReadAllBytes(dir.File("single.hdf5"))));
        AssertRefused([dir.File("p1.hdf5"), dir.File("nope.hdf5")], "does not exist");
        AssertRefused([dir.File("zz*.hdf5")], "No file matches");
    }

    private static void AssertRefused(string[] parts, string message)
    {
        using var outDir = new TempDir();
        string output = outDir.File("merged.hdf5");
        var run = CliHarness.Run(["merge", output, .. parts]);
        Assert.That(run.Exit, Is.EqualTo(ElmoCli.BadInput), run.ToString());
        var lines = run.Err.Trim().Split('\n');
        Assert.That(lines, Has.Length.EqualTo(1), run.ToString());
        Assert.That(lines[0], Does.StartWith("elmo: ").And.Contain(message));
        Assert.That(Directory.GetFileSystemEntries(outDir.Path), Is.Empty, "nothing written");
    }
}
