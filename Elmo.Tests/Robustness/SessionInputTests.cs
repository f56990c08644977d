using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Robustness;

/// <summary>Odd batches: empty ones, empty and very long sentences, null tokens, and batches split to stay under a memory cap.</summary>
[TestFixture]
public class SessionInputTests
{
    private static ElmoModel Model => Reference.TinyModel;

    private static string[] Words(int n, int seed)
    {
        var rng = new Random(seed);
        var words = Reference.Sentences().SelectMany(s => s).ToArray();
        return Enumerable.Range(0, n).Select(_ => words[rng.Next(words.Length)]).ToArray();
    }

    private static void AssertSame(BiLmOutput actual, BiLmOutput expected, string what)
    {
        Assert.That((actual.LayerCount, actual.BatchSize, actual.Timesteps, actual.Dim), Is.EqualTo((expected.LayerCount, expected.BatchSize, expected.Timesteps, expected.Dim)), what + ": shape");
        Assert.That(actual.Lengths, Is.EqualTo(expected.Lengths), what + ": lengths");
        Assert.That(actual.Mask, Is.EqualTo(expected.Mask), what + ": mask");
        Assert.That(actual.Layers.AsSpan().SequenceEqual(expected.Layers), Is.True, $"{what}: layers differ (max |diff| {Close.MaxAbsDiff(actual.Layers, expected.Layers)})");
    }

    private static void AssertSameState(LstmState? actual, LstmState? expected, string what)
    {
        Assert.That(actual is null, Is.EqualTo(expected is null), what);
        if (actual is null || expected is null) return;
        Assert.That(actual.Rows, Is.EqualTo(expected.Rows), what + ": rows");
        for (int i = 0; i < actual.Hidden.Length; i++)
        {
            Assert.That(actual.Hidden[i], Is.EqualTo(expected.Hidden[i]), $"{what}: h[{i}]");
            Assert.That(actual.Cell[i], Is.EqualTo(expected.Cell[i]), $"{what}: c[{i}]");
        }
    }

    [Test]
    public void EmptyBatchGivesAnEmptyOutput()
    {
        foreach (var mode in new[] { StateMode.Stateless, StateMode.Stateful })
        {
            var session = Model.CreateSession(mode);
            var o = session.Run(Array.Empty<IReadOnlyList<string>>());
            Assert.That((o.BatchSize, o.Timesteps, o.Layers.Length, o.Mask.Length), Is.EqualTo((0, 0, 0, 0)));
            var w = o.WithoutBoundaries();
            Assert.That((w.BatchSize, w.Timesteps), Is.EqualTo((0, 0)));
            Assert.That(session.CarriedState, Is.Null, "an empty batch carries nothing over");
            var ids = session.Run(Model.Mapper.BatchToIds([]));
            Assert.That(ids.BatchSize, Is.Zero);
        }
    }

    [Test]
    public void EmptySentencesHaveOnlyBoundaries()
    {
        var session = Model.CreateSession(StateMode.Stateless);
        var o = session.Run([[], ["a", "b"], []]);
        Assert.That(o.Lengths, Is.EqualTo(new[] { 2, 4, 2 }));
        var w = o.WithoutBoundaries();
        Assert.That(w.Lengths, Is.EqualTo(new[] { 0, 2, 0 }));
        Assert.That(w.SentenceLayers(0), Is.Empty);
        Assert.That(w.Mask, Is.EqualTo(new byte[] { 0, 0, 1, 1, 0, 0 }));

        var allEmpty = session.Run([[], []]).WithoutBoundaries();
        Assert.That((allEmpty.Timesteps, allEmpty.Layers.Length), Is.EqualTo((0, 0)));

        // An empty sentence's boundary vectors equal those of any other empty sentence (stateless).
        AssertSame(session.Run([[]]), session.Run([[]]), "empty sentence");
    }

    [Test]
    public void NullSentenceIsRefusedAndNullTokenIsTheEmptyWord()
    {
        var session = Model.CreateSession(StateMode.Stateless);
        var e = Assert.Throws<ElmoInputException>(() => session.Run([["a"], null!]))!;
        Assert.That(e.Message, Does.Contain("Sentence 1"));
        AssertSame(session.Run([["a", null!, "b"]]), session.Run([["a", "", "b"]]), "null token");
        Assert.That(session.Run([["a"]]).BatchSize, Is.EqualTo(1), "the session still works after an input error");
    }

    [Test]
    public void OddTokensRunAndGiveFiniteVectors()
    {
        var session = Model.CreateSession(StateMode.Stateless);
        string huge = new('w', 200_000);
        var o = session.Run([["\uD800", "\0", "\u202E", huge, "\uD83D\uDE00", "<S>", "</S>", "\n\t", ""]]);
        foreach (float v in o.Layers) Assert.That(float.IsFinite(v), Is.True);
        // A lone surrogate is dropped, so it is the empty word; the huge token is its first 48 bytes.
        var tokens = Model.EmbedTokens(["\uD800", "", huge, huge[..48]]);
        int p = Model.Options.Lstm.ProjectionDim;
        Assert.That(tokens.AsSpan(0, p).SequenceEqual(tokens.AsSpan(p, p)), Is.True);
        Assert.That(tokens.AsSpan(2 * p, p).SequenceEqual(tokens.AsSpan(3 * p, p)), Is.True);
    }

    /// <summary>Thousands of tokens in one sentence: it runs, layer 0 is the context-free token vector, and scratch stays near the estimate.</summary>
    [Test]
    public void VeryLongSentenceRunsInBoundedMemory()
    {
        var words = Words(5000, 3);
        var session = Model.CreateSession(StateMode.Stateless, threads: 2);
        var o = session.Run([words, ["short"]]).WithoutBoundaries();
        Assert.That(o.Lengths, Is.EqualTo(new[] { 5000, 1 }));
        foreach (float v in o.Layers) Assert.That(float.IsFinite(v), Is.True);

        var tokenVectors = Model.EmbedTokens(words);
        int p = Model.Options.Lstm.ProjectionDim;
        foreach (int t in new[] { 0, 1, 2999, 4999 })
        {
            var v = o.Vector(0, 0, t);
            Assert.That(v[..p].SequenceEqual(tokenVectors.AsSpan(t * p, p)), Is.True, $"layer 0 at {t}");
            Assert.That(v[p..].SequenceEqual(tokenVectors.AsSpan(t * p, p)), Is.True, $"layer 0 at {t}, second half");
        }

        long estimate = session.EstimateBatchBytes([5000, 1]);
        const long lstmBlockScratch = 2 * (32L << 20); // two directions' input-projection blocks, capped in the runner
        Assert.That(session.ScratchBytes, Is.LessThanOrEqualTo(estimate + lstmBlockScratch), $"scratch {session.ScratchBytes} vs estimate {estimate}");
    }

    [Test]
    public void BatchTooLargeForOneArrayIsRefusedBeforeAllocating()
    {
        // 10,000 rows padded to 2,302 positions of 3 × 32 values: 2.2e9 > Array.MaxLength.
        var sentences = new IReadOnlyList<string>[10_000];
        for (int i = 0; i < sentences.Length; i++) sentences[i] = [];
        sentences[^1] = Words(2300, 4);
        var e = Assert.Throws<ElmoInputException>(() => Model.CreateSession(StateMode.Stateless).Run(sentences))!;
        Assert.That(e.Message, Does.Contain("too large"));
    }

    [Test]
    public void MaxBatchBytesMustBePositive()
    {
        var session = Model.CreateSession(StateMode.Stateless);
        Assert.That(session.MaxBatchBytes, Is.EqualTo(ElmoSession.DefaultMaxBatchBytes));
        Assert.Throws<ArgumentOutOfRangeException>(() => session.MaxBatchBytes = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => session.MaxBatchBytes = -5);
        session.MaxBatchBytes = null;
        Assert.That(session.MaxBatchBytes, Is.Null);
    }

    [Test]
    public void EstimateGrowsWithRowsTimestepsAndDims()
    {
        var session = Model.CreateSession(StateMode.Stateless);
        var o = Model.Options;
        long one = session.EstimateBatchBytes([10]);
        long padded = session.EstimateBatchBytes([10, 0]);
        // A second, empty row pads to the same 12 timesteps: (L+1)·12·D output values, 2 positions of scratch, one row of states.
        Assert.That(padded - one, Is.GreaterThanOrEqualTo(4L * o.OutputLayers * 12 * o.OutputDim));
        Assert.That(session.EstimateBatchBytes([]), Is.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => session.EstimateBatchBytes([-1]));
    }

    /// <summary>A cap below the batch's estimate splits it into row groups; the result is bitwise the unsplit one.</summary>
    [TestCase(1L)]
    [TestCase(60_000L)]
    [TestCase(200_000L)]
    public void CappedStatelessBatchEqualsTheUnsplitOne(long cap)
    {
        var batch = Reference.Sentences().Take(9).Select(s => (IReadOnlyList<string>)s).Append(Words(300, 9)).Append([]).ToArray();
        var free = Model.CreateSession(StateMode.Stateless);
        free.MaxBatchBytes = null;
        var capped = Model.CreateSession(StateMode.Stateless);
        capped.MaxBatchBytes = cap;
        var expected = free.Run(batch);
        var actual = capped.Run(batch);
        Assert.That(capped.LastGroupCount, Is.GreaterThan(1), "the cap must split this batch");
        if (cap == 1) Assert.That(capped.LastGroupCount, Is.EqualTo(batch.Length), "a cap below any row runs every row alone");
        AssertSame(actual, expected, $"cap {cap}");
        AssertSame(capped.Run(Model.Mapper.BatchToIds(batch)), expected, $"cap {cap}, character ids");
    }

    /// <summary>Stateful carry-over is per row, so splitting rows keeps it: batches growing and shrinking, states compared too.</summary>
    [Test]
    public void CappedStatefulBatchesEqualTheUnsplitOnes()
    {
        var all = Reference.Sentences();
        int[] sizes = [3, 5, 2, 4, 3, 5, 2, 4, 2];
        var free = Model.CreateSession(StateMode.Stateful);
        free.MaxBatchBytes = null;
        var capped = Model.CreateSession(StateMode.Stateful);
        capped.MaxBatchBytes = 40_000;
        int at = 0, splits = 0;
        foreach (int size in sizes)
        {
            var batch = all.Skip(at).Take(size).Select(s => (IReadOnlyList<string>)s).ToArray();
            at += size;
            AssertSame(capped.Run(batch), free.Run(batch), $"batch at {at - size}");
            if (capped.LastGroupCount > 1) splits++;
            AssertSameState(capped.CarriedState, free.CarriedState, $"state after batch at {at - size}");
        }
        Assert.That(splits, Is.GreaterThan(sizes.Length / 2), "most batches must be split by the cap");
    }

    [Test]
    public void CappedWarmBatchEqualsTheUnsplitOne()
    {
        var warmUp = Model.CreateSession(StateMode.Stateful);
        foreach (var s in Reference.Sentences().Take(5)) warmUp.Run([s]);
        var warm = warmUp.CarriedState!;
        var batch = Reference.Sentences().Skip(5).Take(8).Select(s => (IReadOnlyList<string>)s).ToArray();
        var free = Model.CreateSession(StateMode.Warm, warm);
        free.MaxBatchBytes = null;
        var capped = Model.CreateSession(StateMode.Warm, warm);
        capped.MaxBatchBytes = 50_000;
        AssertSame(capped.Run(batch), free.Run(batch), "warm");
        Assert.That(capped.LastGroupCount, Is.GreaterThan(1));
    }

    [Test]
    public void CharacterIdsOfTheWrongShapeAreRefused()
    {
        var session = Model.CreateSession(StateMode.Stateless);
        var good = Model.Mapper.BatchToIds([["a", "b"], ["c"]]);
        Assert.Throws<ElmoInputException>(() => session.Run(good with { Tokens = 3 }));
        Assert.Throws<ElmoInputException>(() => session.Run(good with { Batch = -1 }));
        Assert.Throws<ElmoInputException>(() => session.Run(good with { Ids = good.Ids[..10] }));
        Assert.Throws<ElmoInputException>(() => session.Run(new CharacterIds(new int[2 * 2 * 10], 2, 2, 10)));

        var outOfRange = (int[])good.Ids.Clone();
        outOfRange[3] = 100_000;
        Assert.That(Assert.Throws<ElmoInputException>(() => session.Run(good with { Ids = outOfRange }))!.Message, Does.Contain("100000"));
        outOfRange[3] = -1;
        Assert.Throws<ElmoInputException>(() => session.Run(good with { Ids = outOfRange }));

        // Row 1 has a token at position 1 after padding at position 0.
        var gap = (int[])good.Ids.Clone();
        gap.AsSpan(2 * 50, 50).Clear();
        gap[3 * 50] = 5;
        Assert.Throws<ElmoInputException>(() => session.Run(good with { Ids = gap }));
        AssertSame(session.Run(good), session.Run([["a", "b"], ["c"]]), "the session still works");
    }
}
