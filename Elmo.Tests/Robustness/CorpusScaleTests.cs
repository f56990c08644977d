using System.Text;
using System.Text.Json;
using Elmo.Core;
using Elmo.Tests.Cli;
using Elmo.Tests.Support;

namespace Elmo.Tests.Robustness;

/// <summary>
/// <c>elmo embed</c> at scale and at the edges of the format (issue 17, items 6, 7, 9–12): dataset names compared as
/// the bytes HDF5 stores, names of any length, memory that follows the input and not the flags or the corpus size
/// (checked in child processes under a managed-heap limit), and a heap that holds nothing per sentence embedded.
/// </summary>
public class CorpusScaleTests
{
    private static string[] Fixture => CliHarness.FixtureModel;

    private static Dictionary<string, string> HeapLimit(long bytes) => new()
    {
        ["DOTNET_GCHeapHardLimit"] = "0x" + bytes.ToString("x"),
        ["ELMO_CACHE"] = Path.Combine(Path.GetTempPath(), "elmo-scale-test-cache"),
    };

    [Test]
    public void SentencesThatDifferOnlyByALoneSurrogateAndUFFFDCannotBothBeNames()
    {
        using var dir = new Cli.TempDir();
        string input = dir.Write("in.jsonl", "[\"a\", \"\\ud800\"]\n[\"b\"]\n[\"a\", \"\\ufffd\"]\n");
        string output = dir.File("out.hdf5");

        var keys = CliHarness.Run(["embed", input, output, "--top", "--use-sentence-keys", "--quiet", .. Fixture]);
        Assert.That(keys.Exit, Is.EqualTo(1), keys.ToString());
        Assert.That(keys.Err, Does.Contain("line 3 gives the same HDF5 dataset name as line 1").And.Contain("U+FFFD"));
        Assert.That(File.Exists(output), Is.False);
        Assert.That(dir.Others("in.jsonl"), Is.Empty, "no temporary file left");

        // Without sentence keys they are two keys of sentence_to_index, as in Python's dict.
        var map = CliHarness.Run(["embed", input, output, "--top", "--quiet", .. Fixture]);
        Assert.That(map.Exit, Is.EqualTo(0), map.ToString());
        Assert.That(CliHarness.ReadString(output, "sentence_to_index"), Is.EqualTo("{\"a \\ud800\": \"0\", \"b\": \"1\", \"a \\ufffd\": \"2\"}"));
    }

    [TestCase(65_530)]
    [TestCase(65_535)]
    [TestCase(65_536)]
    [TestCase(300_000)]
    public void LongSentenceKeysGiveAFileH5pyAndPureHdfRead(int length)
    {
        ChildProcess.RequireH5py();
        using var dir = new Cli.TempDir();
        string key = "k" + new string('é', (length - 1) / 2) + (length % 2 == 0 ? "x" : "");
        Assert.That(Encoding.UTF8.GetByteCount(key), Is.EqualTo(length));
        string input = dir.Write("in.txt", $"short one\n{key}\n");
        string output = dir.File("out.hdf5");

        var result = CliHarness.Run(["embed", input, output, "--top", "--use-sentence-keys", "--quiet", .. Fixture]);

        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        Assert.That(CliHarness.Read(output, key).Shape, Is.EqualTo(new[] { 1, 32 }));
        string keyFile = dir.Write("key.json", JsonSerializer.Serialize(key));
        var (exit, text) = ChildProcess.Python($$"""
            import h5py, json
            key = json.load(open({{JsonSerializer.Serialize(keyFile)}}, encoding="utf-8"))
            f = h5py.File({{JsonSerializer.Serialize(output)}}, "r")
            print(sorted(len(k.encode()) for k in f.keys()), f[key].shape, f["short one"].shape)
            """);
        Assert.That(exit, Is.EqualTo(0), text);
        Assert.That(text.Trim(), Is.EqualTo($"[9, {length}] (1, 32) (2, 32)"));
    }

    [Test]
    public void NamesAndMapsOverTheFormatsLimitsAreRefusedBeforeAnythingIsComputed()
    {
        var input = CorpusInput.FromTokens([["a"]], "corpus.txt");
        var names = Assert.Throws<ElmoInputException>(() => CorpusEmbedder.CheckLimits(input, new CorpusFileShape(1, 0, 2, 4, null, CorpusEmbedder.MaxNameHeapBytes + 8)))!;
        Assert.That(names.Message, Does.Contain("corpus.txt").And.Contain("--use-sentence-keys").And.Contain("2,147,483,") );
        var map = Assert.Throws<ElmoInputException>(() => CorpusEmbedder.CheckLimits(input, CorpusFileShape.ByIndex(1, 0, 2, 4, CorpusEmbedder.MaxSentenceToIndexBytes + 1)))!;
        Assert.That(map.Message, Does.Contain("sentence_to_index").And.Contain("--forget-sentences"));
        Assert.DoesNotThrow(() => CorpusEmbedder.CheckLimits(input, CorpusFileShape.ByIndex(1, 0, 2, 4, CorpusEmbedder.MaxSentenceToIndexBytes)));
    }

    /// <summary>
    /// Issue 17 item 9: a full collection after every batch scanned a heap that held ~1.5 KB per sentence of the corpus,
    /// so time grew with the square of the corpus. The heap now holds a few dozen bytes per distinct sentence (the
    /// sentence_to_index hashes) and nothing per dataset written.
    /// </summary>
    [Test]
    public void TheHeapDuringARunHoldsAlmostNothingPerSentence()
    {
        long small = HeapDuringRun(1_000), large = HeapDuringRun(7_000);
        double perSentence = (large - small) / 6_000.0;
        TestContext.Out.WriteLine($"heap mid-run: {small:N0} B for 1,000 sentences, {large:N0} B for 7,000: {perSentence:F1} B per sentence");
        Assert.That(perSentence, Is.LessThan(100), "bytes of managed heap per sentence of the corpus");
    }

    private static long HeapDuringRun(int sentences)
    {
        using var dir = new Cli.TempDir();
        string corpus = dir.Write("corpus.txt", string.Concat(Enumerable.Range(0, sentences).Select(i => $"w{i} x\n")));
        long heap = -1;
        CorpusEmbedder.Run(Reference.TinyModel, CorpusInput.FromFile(corpus), dir.File("out.hdf5"), new EmbedSettings { Layout = OutputLayout.Top, Mode = StateMode.Stateless, BatchSize = 32, Threads = 1 }, p =>
        {
            if (heap < 0 && p.Sentences >= sentences / 2) heap = GC.GetTotalMemory(forceFullCollection: true);
        });
        return heap;
    }

    [Test]
    public void SentenceToIndexIsStreamedNotBuiltAsOneString()
    {
        // 40 MB of sentences: the map as one .NET string (and its builder) needed several times the 96 MB heap allowed here.
        using var dir = new Cli.TempDir();
        var text = new StringBuilder();
        for (int i = 0; i < 5_000; i++) text.Append(i).Append('y', 8_000).Append('\n');
        string input = dir.Write("wide.txt", text.ToString());
        string output = dir.File("out.hdf5");

        var (exit, _, err) = ChildProcess.Elmo(HeapLimit(96 << 20), TimeSpan.FromMinutes(3), ["embed", input, output, "--top", "--stateless", "--quiet", .. Fixture]);

        Assert.That(exit, Is.EqualTo(0), err);
        string map = CliHarness.ReadString(output, "sentence_to_index");
        Assert.That(map.Length, Is.EqualTo(2 + 5_000 * (8_000 + 6) + Enumerable.Range(0, 5_000).Sum(i => 2 * i.ToString().Length) + 2 * 4_999));
        Assert.That(map, Does.StartWith("{\"0" + new string('y', 8_000) + "\": \"0\", \"1yyy"));
    }

    [TestCase("--batch-size", "10000000")]
    [TestCase("--batch-size", "134217728")]
    [TestCase("--batch-size", "2147483647")]
    [TestCase("--stateful", "--batch-size", "2147483647")]
    public void MemoryFollowsTheInputNotTheBatchSize(params string[] flags)
    {
        using var dir = new Cli.TempDir();
        string input = dir.Write("one.txt", "just one line\n");
        string output = dir.File("out.hdf5");
        string[] mode = flags.Contains("--stateful") ? [] : ["--stateless"];

        var (exit, _, err) = ChildProcess.Elmo(HeapLimit(256 << 20), TimeSpan.FromMinutes(2), ["embed", input, output, "--top", "--quiet", .. mode, .. flags, .. Fixture]);

        Assert.That(exit, Is.EqualTo(0), err);
        Assert.That(CliHarness.Read(output, "0").Shape, Is.EqualTo(new[] { 3, 32 }));
    }

    [Test]
    public void OneVeryLongSentenceRunsAloneWithinMaxBatchBytes()
    {
        // 63 short sentences and one of 40,000 tokens: padded to the longest, the batch's output alone is 3.9 GB for the
        // demo model; run in groups within MaxBatchBytes (1 GiB), the long one alone, it fits in a 1.5 GB heap.
        using var dir = new Cli.TempDir();
        string input = dir.Write("long.txt", string.Concat(Enumerable.Repeat("a b c\n", 63)) + string.Join(' ', Enumerable.Repeat("x", 40_000)) + "\n");
        string output = dir.File("out.hdf5");

        var (exit, _, err) = ChildProcess.Elmo(HeapLimit(1536L << 20), TimeSpan.FromMinutes(3), ["embed", input, output, "--all", "--stateless", "--quiet", "--model", "demo"]);

        Assert.That(exit, Is.EqualTo(0), err);
        Assert.That(CliHarness.Read(output, "63").Shape, Is.EqualTo(new[] { 3, 40_000, 128 }));
    }

    [TestCase(StateMode.Stateless)]
    [TestCase(StateMode.Warm)]
    [TestCase(StateMode.Stateful)]
    public void RowGroupsUnderASmallCapGiveTheSameBits(StateMode mode)
    {
        using var dir = new Cli.TempDir();
        var sentences = Reference.Sentences().Select(s => (IReadOnlyList<string>)s).ToList();
        var settings = new EmbedSettings { Layout = OutputLayout.All, Mode = mode, BatchSize = 7 };
        CorpusEmbedder.Run(Reference.TinyModel, CorpusInput.FromTokens(sentences), dir.File("whole.hdf5"), settings);
        CorpusEmbedder.Run(Reference.TinyModel, CorpusInput.FromTokens(sentences), dir.File("groups.hdf5"), settings with { MaxBatchBytes = 200_000 });
        Assert.That(File.ReadAllBytes(dir.File("groups.hdf5")), Is.EqualTo(File.ReadAllBytes(dir.File("whole.hdf5"))), "the same file, byte for byte");
    }
}
