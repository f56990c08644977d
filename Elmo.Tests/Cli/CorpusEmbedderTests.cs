using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Cli;

/// <summary>The bulk-embedding API behind <c>elmo embed</c>.</summary>
public class CorpusEmbedderTests
{
    [TestCase(OutputLayout.All, StateMode.Warm)]
    [TestCase(OutputLayout.Top, StateMode.Stateless)]
    [TestCase(OutputLayout.Average, StateMode.Warm)]
    [TestCase(OutputLayout.Mix, StateMode.Stateless)]
    [TestCase(OutputLayout.All, StateMode.Stateful)]
    public void BatchesSideBySideWriteTheSameBytes(OutputLayout layout, StateMode mode)
    {
        // Several sessions run the batches of a window at once and write each sentence to its place: the file must be
        // the bytes one session writes, whatever order the batches finish in.
        using var dir = new TempDir();
        var words = "the cat sat on a mat while it rained all day long in town .".Split(' ');
        IReadOnlyList<IReadOnlyList<string>> sentences = Enumerable.Range(0, 60).Select(i => (IReadOnlyList<string>)words.Take(1 + (i * 7) % words.Length).ToArray()).ToArray();
        var mix = layout == OutputLayout.Mix ? new ScalarMix(3, [0.5f, -1f, 2f], gamma: 0.75f, layerNorm: false) : null;
        var one = new EmbedSettings { Layout = layout, Mix = mix, Mode = mode, BatchSize = 3, SortWindowBatches = 8, Threads = 2, ParallelBatches = 1 };
        CorpusEmbedder.Run(Reference.TinyModel, CorpusInput.FromTokens(sentences), dir.File("one.hdf5"), one);
        foreach (int workers in new[] { 2, 3 })
        {
            var reports = new List<EmbedProgress>();
            var done = CorpusEmbedder.Run(Reference.TinyModel, CorpusInput.FromTokens(sentences), dir.File($"{workers}.hdf5"), one with { ParallelBatches = workers }, reports.Add);
            Assert.That(File.ReadAllBytes(dir.File($"{workers}.hdf5")), Is.EqualTo(File.ReadAllBytes(dir.File("one.hdf5"))), $"{workers} batches side by side");
            Assert.That(done.Sentences, Is.EqualTo(60));
            Assert.That(reports.Select(r => r.Sentences), Is.Ordered, "progress only moves forward");
            Assert.That(reports.Last().Tokens, Is.EqualTo(sentences.Sum(s => s.Count)));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => CorpusEmbedder.Run(Reference.TinyModel, CorpusInput.FromTokens(sentences), dir.File("bad.hdf5"), one with { ParallelBatches = 0 }));
    }

    [Test]
    public void BatchesRunSideBySideOnlyBeyondTwoThreads()
    {
        // 2 cores: one batch at a time on both (the two LSTM directions side by side), exactly as before.
        Assert.That(BatchParallelism.Choose(2, 16), Is.EqualTo(new BatchParallelism(1, 2)));
        Assert.That(BatchParallelism.Choose(1, 16), Is.EqualTo(new BatchParallelism(1, 1)));
        // More cores: a batch per two threads, as many as there are batches; a lone batch keeps every thread.
        Assert.That(BatchParallelism.Choose(4, 16), Is.EqualTo(new BatchParallelism(2, 2)));
        Assert.That(BatchParallelism.Choose(16, 16), Is.EqualTo(new BatchParallelism(8, 2)));
        Assert.That(BatchParallelism.Choose(16, 3), Is.EqualTo(new BatchParallelism(3, 5)));
        Assert.That(BatchParallelism.Choose(16, 1), Is.EqualTo(new BatchParallelism(1, 16)));
        Assert.That(BatchParallelism.Choose(5, 16), Is.EqualTo(new BatchParallelism(2, 2)));
        // Forced: the threads shared evenly, never more workers than batches.
        Assert.That(BatchParallelism.Choose(2, 16, forced: 2), Is.EqualTo(new BatchParallelism(2, 1)));
        Assert.That(BatchParallelism.Choose(2, 1, forced: 4), Is.EqualTo(new BatchParallelism(1, 2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchParallelism.Choose(0, 1));
    }

    [Test]
    public void WarmIsTheDefaultModeOfEmbedSettings()
    {
        Assert.That(new EmbedSettings().Mode, Is.EqualTo(StateMode.Warm));
    }

    [Test]
    public void TokenisedSentencesInMemoryAreWrittenWithTheDefaultSettings()
    {
        using var dir = new TempDir();
        IReadOnlyList<IReadOnlyList<string>> sentences = [["The", "cat", "sat", "."], [], ["Hello"]];
        string output = dir.File("out.hdf5");
        var reports = new List<EmbedProgress>();

        var done = CorpusEmbedder.Run(Reference.TinyModel, CorpusInput.FromTokens(sentences), output, new EmbedSettings { BatchSize = 2 }, reports.Add);

        Assert.That(done.Sentences, Is.EqualTo(3));
        Assert.That(done.Tokens, Is.EqualTo(5));
        Assert.That(reports.First(), Is.EqualTo(reports.First() with { Sentences = 0, Tokens = 0, TotalSentences = 3, TotalTokens = 5 }), "first report: the counted input");
        Assert.That(reports.Last().Sentences, Is.EqualTo(3));
        var api = Reference.TinyModel.CreateSession(StateMode.Warm).Run(sentences);
        for (int i = 0; i < 3; i++) Assert.That(CliHarness.Read(output, i.ToString()).Data, Is.EqualTo(api.SentenceLayers(i)));
        Assert.That(CliHarness.Read(output, "1").Shape, Is.EqualTo(new[] { 3, 0, 32 }));
        Assert.That(CliHarness.ReadString(output, "sentence_to_index"), Is.EqualTo("{\"The cat sat .\": \"0\", \"\": \"1\", \"Hello\": \"2\"}"));
    }

    [TestCase(OutputLayout.All, false)]
    [TestCase(OutputLayout.Top, false)]
    [TestCase(OutputLayout.Average, false)]
    [TestCase(OutputLayout.Mix, false)]
    [TestCase(OutputLayout.Mix, true)]
    public void BatchesShorterThanAnEarlierOneWriteWhatTheApiGives(OutputLayout layout, bool layerNorm)
    {
        // The embedder reuses one output array for every batch without clearing it and writes each sentence straight
        // from it: a batch after a longer one must not pick up anything the longer one left in the array.
        using var dir = new TempDir();
        IReadOnlyList<IReadOnlyList<string>> sentences =
        [
            ["A", "long", "first", "sentence", "with", "nine", "tokens", "in", "it"], ["Seven", "tokens", "follow", "in", "this", "one", "."],
            ["Short"], ["Two", "words"],
            [], ["Five", "tokens", "after", "empty", "."],
            ["Last"],
        ];
        var mix = layout == OutputLayout.Mix ? new ScalarMix(3, [0.5f, -1f, 2f], gamma: 0.75f, layerNorm: layerNorm) : null;
        var settings = new EmbedSettings { Layout = layout, Mix = mix, Mode = StateMode.Stateless, BatchSize = 2, SortByLength = false };
        string output = dir.File("out.hdf5");

        CorpusEmbedder.Run(Reference.TinyModel, CorpusInput.FromTokens(sentences), output, settings);

        var session = Reference.TinyModel.CreateSession(StateMode.Stateless);
        for (int start = 0; start < sentences.Count; start += 2)
        {
            var batch = sentences.Skip(start).Take(2).ToList();
            var expected = CorpusEmbedder.Shape(session.Run(batch), layout, mix);
            for (int b = 0; b < batch.Count; b++)
            {
                var (data, shape) = CliHarness.Read(output, (start + b).ToString());
                Assert.That(shape, Is.EqualTo(expected[b].Shape), $"sentence {start + b}");
                Assert.That(data, Is.EqualTo(expected[b].Data), $"sentence {start + b}: bitwise as the API gives it");
            }
        }
    }

    [Test]
    public void StatelessResultsDoNotDependOnLengthSorting()
    {
        using var dir = new TempDir();
        var sentences = Reference.Sentences().Select(s => (IReadOnlyList<string>)s).ToList();
        var sorted = new EmbedSettings { Mode = StateMode.Stateless, BatchSize = 4, SortWindowBatches = 2 };
        CorpusEmbedder.Run(Reference.TinyModel, CorpusInput.FromTokens(sentences), dir.File("sorted.hdf5"), sorted);
        CorpusEmbedder.Run(Reference.TinyModel, CorpusInput.FromTokens(sentences), dir.File("plain.hdf5"), sorted with { SortByLength = false });
        for (int i = 0; i < sentences.Count; i++)
        {
            Close.AssertAll(CliHarness.Read(dir.File("sorted.hdf5"), i.ToString()).Data, CliHarness.Read(dir.File("plain.hdf5"), i.ToString()).Data, 1e-6, 0, $"sentence {i}");
        }
    }
}
