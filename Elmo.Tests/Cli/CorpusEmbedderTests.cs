using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Cli;

/// <summary>The bulk-embedding API behind <c>elmo embed</c>.</summary>
public class CorpusEmbedderTests
{
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
