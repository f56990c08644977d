using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Robustness;

/// <summary>
/// Stateless (and warm) results are bitwise identical for any batch size, batch composition, order, thread
/// count and memory cap: every GEMM element is one fused multiply-add chain in a fixed order, and every other
/// kernel works on one row at a time.
/// </summary>
[TestFixture]
public class DeterminismTests
{
    private static ElmoModel Model => Reference.TinyModel;

    private static List<IReadOnlyList<string>> Corpus()
    {
        var s = Reference.Sentences().Select(x => (IReadOnlyList<string>)x).ToList();
        s.Add([]);
        s.Add(["\uD83D\uDE00", "\uDC00", "naïve", new string('z', 80)]);
        s.Add(Reference.Sentences().SelectMany(x => x).Take(120).ToArray());
        return s;
    }

    /// <summary>Each sentence's layers (no boundaries) when the corpus runs in <paramref name="order"/>, <paramref name="batchSize"/> at a time.</summary>
    private static float[][] Embed(ElmoSession session, List<IReadOnlyList<string>> corpus, int[] order, int batchSize)
    {
        var result = new float[corpus.Count][];
        for (int start = 0; start < order.Length; start += batchSize)
        {
            var rows = order.Skip(start).Take(batchSize).ToArray();
            var output = session.Run(rows.Select(i => corpus[i]).ToArray()).WithoutBoundaries();
            for (int r = 0; r < rows.Length; r++) result[rows[r]] = output.SentenceLayers(r);
        }
        return result;
    }

    private static void AssertBitwise(float[][] actual, float[][] expected, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.That(actual[i].AsSpan().SequenceEqual(expected[i]), Is.True, $"{what}: sentence {i} differs (max |diff| {Close.MaxAbsDiff(actual[i], expected[i])})");
        }
    }

    private static float[][] Baseline(StateMode mode, LstmState? warm, List<IReadOnlyList<string>> corpus) =>
        Embed(Model.CreateSession(mode, warm, threads: 1), corpus, Enumerable.Range(0, corpus.Count).ToArray(), batchSize: 1);

    /// <summary>
    /// The first LSTM layer projects recurring tokens once (a table of pre-activations): with no table, a one-row table
    /// (most positions projected as usual) and the default, every layer of every row is the same bits.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    public void FirstLayerTokenTableGivesTheSameBits(int threads)
    {
        var weights = Model.Weights;
        var mapper = Model.Mapper;
        int chars = mapper.MaxCharactersPerToken, gates = 4 * weights.Options.Lstm.CellDim;
        var corpus = Corpus();
        var lengths = corpus.Select(s => s.Count + 2).ToArray();
        var ids = new int[lengths.Sum() * chars];
        int pos = 0;
        foreach (var sentence in corpus)
        {
            mapper.BeginningOfSentence.CopyTo(ids.AsSpan(pos++ * chars));
            foreach (var token in sentence) mapper.Map(token, ids.AsSpan(pos++ * chars, chars));
            mapper.EndOfSentence.CopyTo(ids.AsSpan(pos++ * chars));
        }

        float[] Run(int budget) =>
            BiLm.Forward(weights, ids, lengths, new LstmState(weights.Options.Lstm, lengths.Length), new Scratch(), threads, sharedTableBytes: budget).Layers;

        var expected = Run(0);
        foreach (int rows in new[] { 1, 3 })
        {
            var actual = Run(rows * gates * sizeof(float));
            Assert.That(actual.AsSpan().SequenceEqual(expected), Is.True, $"table of {rows} row(s): max |diff| {Close.MaxAbsDiff(actual, expected)}");
        }
        var full = Run(BiLm.SharedTokenTableBytes);
        Assert.That(full.AsSpan().SequenceEqual(expected), Is.True, $"default table: max |diff| {Close.MaxAbsDiff(full, expected)}");
    }

    [TestCase(1, 2)]
    [TestCase(2, 1)]
    [TestCase(3, 2)]
    [TestCase(7, 4)]
    [TestCase(64, 1)]
    [TestCase(64, 2)]
    [TestCase(64, 3)]
    public void StatelessIsBitwiseIndependentOfBatchingOrderAndThreads(int batchSize, int threads)
    {
        var corpus = Corpus();
        var expected = Baseline(StateMode.Stateless, null, corpus);
        var session = Model.CreateSession(StateMode.Stateless, threads: threads);
        int n = corpus.Count;
        var inOrder = Enumerable.Range(0, n).ToArray();
        var reversed = inOrder.Reverse().ToArray();
        var shuffled = inOrder.OrderBy(i => (i * 7919) % n).ToArray();
        var byLength = inOrder.OrderBy(i => corpus[i].Count).ToArray();
        AssertBitwise(Embed(session, corpus, inOrder, batchSize), expected, "in order");
        AssertBitwise(Embed(session, corpus, reversed, batchSize), expected, "reversed");
        AssertBitwise(Embed(session, corpus, shuffled, batchSize), expected, "shuffled");
        AssertBitwise(Embed(session, corpus, byLength, batchSize), expected, "sorted by length");
    }

    /// <summary>The same sentence beside different neighbours (a long one, duplicates of itself, nothing) gives the same bits.</summary>
    [Test]
    public void CompositionDoesNotMatter()
    {
        var corpus = Corpus();
        var expected = Baseline(StateMode.Stateless, null, corpus);
        var session = Model.CreateSession(StateMode.Stateless, threads: 2);
        var longest = corpus[^1];
        for (int i = 0; i < corpus.Count; i += 5)
        {
            var o = session.Run([longest, corpus[i], corpus[i], []]).WithoutBoundaries();
            Assert.That(o.SentenceLayers(1).AsSpan().SequenceEqual(expected[i]), Is.True, $"sentence {i} beside a long one");
            Assert.That(o.SentenceLayers(2).AsSpan().SequenceEqual(expected[i]), Is.True, $"sentence {i} beside itself");
        }
    }

    [Test]
    public void MemoryCapDoesNotMatter()
    {
        var corpus = Corpus();
        var expected = Baseline(StateMode.Stateless, null, corpus);
        var session = Model.CreateSession(StateMode.Stateless, threads: 2);
        session.MaxBatchBytes = 150_000;
        AssertBitwise(Embed(session, corpus, Enumerable.Range(0, corpus.Count).ToArray(), 64), expected, "capped");
        Assert.That(session.LastGroupCount, Is.GreaterThan(1));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void AReusedUnclearedOutputBufferWithExtraPaddingGivesTheSameRows(bool capped)
    {
        // What CorpusEmbedder does: every batch goes into one array that is never cleared (here it starts as NaN),
        // laid out with more positions per row than the batch needs.
        var corpus = Corpus();
        var expected = Baseline(StateMode.Stateless, null, corpus);
        var session = Model.CreateSession(StateMode.Stateless, threads: 2);
        if (capped) session.MaxBatchBytes = 150_000;
        int timesteps = corpus.Max(s => s.Count) + 5, batchSize = 4;
        var buffer = new float[Model.Options.OutputLayers * batchSize * timesteps * Model.Options.OutputDim];
        buffer.AsSpan().Fill(float.NaN);
        var order = Enumerable.Range(0, corpus.Count).OrderBy(i => (i * 31) % corpus.Count).ToArray();
        var actual = new float[corpus.Count][];
        int mostGroups = 0;
        for (int start = 0; start < order.Length; start += batchSize)
        {
            var rows = order.Skip(start).Take(batchSize).ToArray();
            var output = session.Run(rows.Select(i => corpus[i]).ToArray(), buffer, timesteps);
            mostGroups = Math.Max(mostGroups, session.LastGroupCount);
            Assert.That(output.Layers, Is.SameAs(buffer));
            Assert.That(output.Timesteps, Is.EqualTo(timesteps));
            for (int r = 0; r < rows.Length; r++) actual[rows[r]] = output.SentenceLayers(r);
        }
        AssertBitwise(actual, expected, capped ? "reused buffer, capped" : "reused buffer");
        if (capped) Assert.That(mostGroups, Is.GreaterThan(1), "some batch was run in groups of rows");
    }

    [TestCase(4, 1)]
    [TestCase(64, 2)]
    public void WarmIsBitwiseIndependentOfBatchingAndThreads(int batchSize, int threads)
    {
        var warmUp = Model.CreateSession(StateMode.Stateful, threads: 1);
        foreach (var s in Reference.Sentences().Take(4)) warmUp.Run([s]);
        var warm = warmUp.CarriedState!;
        var corpus = Corpus();
        var expected = Baseline(StateMode.Warm, warm, corpus);
        var session = Model.CreateSession(StateMode.Warm, warm, threads);
        var shuffled = Enumerable.Range(0, corpus.Count).OrderBy(i => (i * 31) % corpus.Count).ToArray();
        AssertBitwise(Embed(session, corpus, shuffled, batchSize), expected, "warm");
    }

    /// <summary>
    /// A model wide enough that the GEMMs really split their columns between threads (the demo architecture):
    /// one sentence at a time on one thread, and the whole corpus at once on 2 and 4 threads, give the same bits.
    /// </summary>
    [Test]
    public void WideModelIsBitwiseIndependentOfThreadsAndBatching()
    {
        var model = new ElmoModel(RandomWeights.Create(ModelPresets.Demo, 11));
        var corpus = Corpus();
        var order = Enumerable.Range(0, corpus.Count).ToArray();
        var expected = Embed(model.CreateSession(StateMode.Stateless, threads: 1), corpus, order, batchSize: 1);
        AssertBitwise(Embed(model.CreateSession(StateMode.Stateless, threads: 2), corpus, order, batchSize: 64), expected, "2 threads");
        AssertBitwise(Embed(model.CreateSession(StateMode.Stateless, threads: 4), corpus, order.Reverse().ToArray(), batchSize: 16), expected, "4 threads, reversed, 16 at a time");
    }

    /// <summary>Layer 0 is the context-free token vector: identical to <see cref="ElmoModel.EmbedTokens"/> in any batch.</summary>
    [Test]
    public void TokenLayerEqualsEmbedTokens()
    {
        var sentence = Reference.Sentences()[7];
        var tokens = Model.EmbedTokens(sentence, threads: 1);
        var o = Model.CreateSession(StateMode.Stateless, threads: 2).Run([Reference.Sentences()[3], sentence]).WithoutBoundaries();
        int p = Model.Options.Lstm.ProjectionDim;
        for (int t = 0; t < sentence.Length; t++)
        {
            Assert.That(o.Vector(0, 1, t)[..p].SequenceEqual(tokens.AsSpan(t * p, p)), Is.True, $"token {t}");
        }
    }

    /// <summary>Reusing a session (dirty scratch from a bigger batch) changes nothing.</summary>
    [Test]
    public void ScratchReuseDoesNotMatter()
    {
        var corpus = Corpus();
        var session = Model.CreateSession(StateMode.Stateless, threads: 2);
        var first = session.Run([corpus[3]]).Layers;
        session.Run(corpus.ToArray());
        Assert.That(session.Run([corpus[3]]).Layers.AsSpan().SequenceEqual(first), Is.True);
    }
}
