using System.Numerics.Tensors;
using System.Text.Json;
using Elmo.Core;
using Elmo.Tests.Cli;
using Elmo.Tests.Support;

namespace Elmo.Tests.Api;

/// <summary><see cref="ElmoEmbedder"/>: the vectors of <c>elmo embed</c>, in memory, streamed, from many threads.</summary>
public class EmbedderTests
{
    private static ElmoModel Model => Reference.TinyModel;

    /// <summary>The fixture's 30 sentences and a few edge cases: empty, one token, unicode, a long one.</summary>
    private static List<string[]> Corpus()
    {
        var corpus = Reference.Sentences();
        corpus.InsertRange(7, [[], ["Ünïcødé", "😀", "tokens"], ["x"]]);
        corpus.Add(Enumerable.Range(0, 40).Select(i => $"w{i}").ToArray());
        return corpus;
    }

    private static LayerChoice Choice(string name) => name switch
    {
        "all" => LayerChoice.All,
        "top" => LayerChoice.Top,
        "average" => LayerChoice.Average,
        "mix" => LayerChoice.Mix([0.5f, -1f, 2f], gamma: 0.75f),
        _ => LayerChoice.Mix([0.5f, -1f, 2f], gamma: 0.75f, layerNorm: true),
    };

    [TestCase(StateMode.Warm, "all")]
    [TestCase(StateMode.Warm, "top")]
    [TestCase(StateMode.Warm, "average")]
    [TestCase(StateMode.Warm, "mix")]
    [TestCase(StateMode.Warm, "mix-layer-norm")]
    [TestCase(StateMode.Stateless, "all")]
    [TestCase(StateMode.Stateless, "top")]
    [TestCase(StateMode.Stateless, "average")]
    [TestCase(StateMode.Stateless, "mix")]
    [TestCase(StateMode.Stateless, "mix-layer-norm")]
    [TestCase(StateMode.Stateful, "all")]
    [TestCase(StateMode.Stateful, "mix-layer-norm")]
    public void StreamedVectorsAreBitwiseThoseOfElmoEmbed(StateMode mode, string layers)
    {
        var corpus = Corpus();
        var choice = Choice(layers);
        using var dir = new TempDir();
        string input = dir.Write("in.jsonl", string.Join("\n", corpus.Select(s => JsonSerializer.Serialize(s))) + "\n");
        string[] modeFlag = mode switch { StateMode.Stateless => ["--stateless"], StateMode.Stateful => ["--stateful"], _ => [] };
        var cli = CliHarness.Run(["embed", input, dir.File("out.hdf5"), .. choice.ToString().Split(' '), "--batch-size", "4", "--quiet", .. modeFlag, .. CliHarness.FixtureModel]);
        Assert.That(cli.Exit, Is.EqualTo(0), cli.ToString());

        // A smaller sorting window than elmo embed's (4 batches of 4 instead of 16), so batches differ where they may.
        var embedder = new ElmoEmbedder(Model, mode) { SortWindowBatches = 4 };
        var results = embedder.EmbedSentences(corpus, batchSize: 4, layers: choice).ToList();

        Assert.That(results.Select(r => r.Index), Is.EqualTo(Enumerable.Range(0, corpus.Count).Select(i => (long)i)), "input order");
        for (int i = 0; i < corpus.Count; i++)
        {
            var (data, shape) = CliHarness.Read(dir.File("out.hdf5"), i.ToString());
            Assert.That(results[i].Shape, Is.EqualTo(shape), $"sentence {i}: shape");
            Assert.That(results[i].ToArray(), Is.EqualTo(data), $"sentence {i}: {choice} in {mode} mode");
            Assert.That(results[i].Tokens, Is.SameAs(corpus[i]));
        }

        // Batches side by side (three sessions, one thread each): the same bits, in input order.
        var parallel = new ElmoEmbedder(Model, mode) { SortWindowBatches = 4, ParallelBatches = 3 }.EmbedSentences(corpus, batchSize: 4, layers: choice).ToList();
        Assert.That(parallel.Select(r => r.Index), Is.EqualTo(results.Select(r => r.Index)));
        for (int i = 0; i < corpus.Count; i++) Assert.That(parallel[i].ToArray(), Is.EqualTo(results[i].ToArray()), $"sentence {i}, batches side by side");
    }

    [Test]
    public void SentenceBatchStreamAndAsyncAgree()
    {
        var corpus = Corpus();
        var embedder = new ElmoEmbedder(Model);
        var streamed = embedder.EmbedSentences(corpus, batchSize: 5).ToList();
        var batch = embedder.EmbedBatch(corpus);
        var asyncResults = Collect(embedder.EmbedSentencesAsync(corpus, batchSize: 3));
        var asyncSource = Collect(embedder.EmbedSentencesAsync(AsyncSource(corpus), batchSize: 7));
        int collections = GC.CollectionCount(GC.MaxGeneration);
        var collecting = new ElmoEmbedder(Model) { CollectAfterBytes = 1 }.EmbedSentences(corpus, batchSize: 2).ToList();
        Assert.That(GC.CollectionCount(GC.MaxGeneration), Is.GreaterThan(collections), "a stream collects once it has allocated CollectAfterBytes");
        for (int i = 0; i < corpus.Count; i++)
        {
            var single = embedder.EmbedSentence(corpus[i]);
            Assert.That(single.ToArray(), Is.EqualTo(streamed[i].ToArray()), $"sentence {i}: EmbedSentence");
            Assert.That(batch[i].ToArray(), Is.EqualTo(streamed[i].ToArray()), $"sentence {i}: EmbedBatch");
            Assert.That(asyncResults[i].ToArray(), Is.EqualTo(streamed[i].ToArray()), $"sentence {i}: EmbedSentencesAsync");
            Assert.That(asyncSource[i].ToArray(), Is.EqualTo(streamed[i].ToArray()), $"sentence {i}: from an IAsyncEnumerable");
            Assert.That(collecting[i].ToArray(), Is.EqualTo(streamed[i].ToArray()), $"sentence {i}: collecting after every batch");
            Assert.That(batch[i].Index, Is.EqualTo(i));
        }
        Assert.That(embedder.EmbedSentenceAsync(corpus[3]).GetAwaiter().GetResult().ToArray(), Is.EqualTo(streamed[3].ToArray()));
        Assert.That(embedder.EmbedBatchAsync(corpus.Take(4).ToList(), LayerChoice.Top).GetAwaiter().GetResult()[2].ToArray(),
            Is.EqualTo(embedder.EmbedSentence(corpus[2], LayerChoice.Top).ToArray()));

        // AllenNLP's embed_sentence: every layer of one sentence, equal to the session's output.
        var session = Model.CreateSession().Run([corpus[0]]).WithoutBoundaries();
        Assert.That(streamed[0].ToArray(), Is.EqualTo(session.SentenceLayers(0)));
    }

    [Test]
    public void ResultsCarryTheirShapeWithSpansPerLayerAndToken()
    {
        var embedder = new ElmoEmbedder(Model);
        string[] tokens = ["The", "cat", "sat", "."];
        var all = embedder.EmbedSentence(tokens);
        Assert.That(all.Shape, Is.EqualTo(new[] { 3, 4, 32 }));
        Assert.That((all.LayerCount, all.TokenCount, all.Dim, all.HasLayerAxis), Is.EqualTo((3, 4, 32, true)));
        var values = all.ToArray();
        Assert.That(all.Layer(2).ToArray(), Is.EqualTo(values.AsSpan(2 * 4 * 32, 4 * 32).ToArray()));
        Assert.That(all.Vector(1, 3).ToArray(), Is.EqualTo(values.AsSpan((1 * 4 + 3) * 32, 32).ToArray()));
        Assert.That(all.Vector(0, 2).Slice(0, 16).ToArray(), Is.EqualTo(all.Vector(0, 2).Slice(16).ToArray()), "layer 0 is [x, x]");
        Assert.Throws<InvalidOperationException>(() => all.Vector(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => all.Vector(3, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => all.Vector(0, 4));

        var tensor = all.AsTensorSpan();
        Assert.That(tensor.Lengths.ToArray(), Is.EqualTo(new nint[] { 3, 4, 32 }));
        Assert.That(tensor[[1, 3, 5]], Is.EqualTo(all.Vector(1, 3)[5]));

        var top = embedder.EmbedSentence(tokens, LayerChoice.Top);
        Assert.That(top.Shape, Is.EqualTo(new[] { 4, 32 }));
        Assert.That(top.Vector(1).ToArray(), Is.EqualTo(all.Vector(2, 1).ToArray()));
        Assert.That(top.AsTensorSpan().Lengths.ToArray(), Is.EqualTo(new nint[] { 4, 32 }));

        var empty = embedder.EmbedSentence([]);
        Assert.That(empty.Shape, Is.EqualTo(new[] { 3, 0, 32 }));
        Assert.That(empty.Values.Length, Is.EqualTo(0));
        Assert.That(empty.AsTensorSpan().FlattenedLength, Is.EqualTo((nint)0));
    }

    [Test]
    public void EightThreadsSharingOneEmbedderGetTheSequentialResults()
    {
        var corpus = Corpus();
        var embedder = new ElmoEmbedder(Model, threads: 1);
        var expected = embedder.EmbedSentences(corpus, batchSize: 4).Select(r => r.ToArray()).ToList();

        const int threads = 8;
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(w => new Thread(() =>
        {
            start.SignalAndWait();
            for (int round = 0; round < 2; round++)
            {
                // Different batch sizes, single sentences and batches: every path, overlapping on one pool.
                var got = w % 2 == 0
                    ? embedder.EmbedSentences(corpus, batchSize: 1 + w).Select(r => r.ToArray()).ToList()
                    : corpus.Select(s => embedder.EmbedSentence(s).ToArray()).ToList();
                for (int i = 0; i < corpus.Count; i++)
                {
                    if (!got[i].AsSpan().SequenceEqual(expected[i])) failures.Add($"thread {w}, round {round}, sentence {i}");
                }
            }
        })).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
        Assert.That(failures, Is.Empty);
        Assert.That(embedder.Sessions.IdleSessions, Is.InRange(1, embedder.Sessions.MaxIdle), "returned sessions are kept for reuse, up to MaxIdle");
    }

    [Test]
    public void TheStreamReadsAtMostOneWindowAheadAndHoldsNoMore()
    {
        // An input that never ends: the stream pulls sentences only as results are taken, at most one window ahead,
        // so the input's length cannot matter to memory. The live heap does not grow with the number embedded.
        long pulled = 0;
        IEnumerable<IReadOnlyList<string>> Endless()
        {
            for (long i = 0; ; i++)
            {
                pulled++;
                yield return i % 3 == 0 ? ["A", "short", "one", "."] : i % 3 == 1 ? ["Two", "words"] : ["A", "slightly", "longer", "sentence", "than", "the", "others", "."];
            }
        }
        var embedder = new ElmoEmbedder(Model, StateMode.Stateless) { SortWindowBatches = 4 };
        const int batch = 32, window = batch * 4;
        long taken = 0, worstAhead = 0, heapAt2k = 0, heapAtEnd = 0;
        foreach (var result in embedder.EmbedSentences(Endless(), batch, LayerChoice.Top))
        {
            Assert.That(result.Index, Is.EqualTo(taken));
            taken++;
            worstAhead = Math.Max(worstAhead, pulled - taken);
            if (taken == 2_000) heapAt2k = GC.GetTotalMemory(forceFullCollection: true);
            if (taken == 20_000)
            {
                heapAtEnd = GC.GetTotalMemory(forceFullCollection: true);
                break;
            }
        }
        Assert.That(worstAhead, Is.LessThanOrEqualTo(window), "never more than one window of sentences read ahead");
        TestContext.Out.WriteLine($"live heap after 2,000 sentences {heapAt2k:N0} B, after 20,000 {heapAtEnd:N0} B; at most {worstAhead} read ahead");
        Assert.That(heapAtEnd - heapAt2k, Is.LessThan(1 << 20), "18,000 more sentences leave nothing behind");
    }

    [Test]
    [TestCase(null)]
    [TestCase(3)]
    public void CancellingAStreamStopsItBetweenBatches(int? parallelBatches)
    {
        var corpus = Enumerable.Repeat(Corpus()[0], 200).ToList();
        var embedder = new ElmoEmbedder(Model) { ParallelBatches = parallelBatches };
        using var cancel = new CancellationTokenSource();
        int seen = 0;
        Assert.Throws<OperationCanceledException>(() =>
        {
            foreach (var _ in embedder.EmbedSentences(corpus, batchSize: 4, cancellationToken: cancel.Token))
            {
                if (++seen == 5) cancel.Cancel();
            }
        });
        Assert.That(seen, Is.LessThan(200));

        using var cancelAsync = new CancellationTokenSource();
        int seenAsync = 0;
        Assert.ThrowsAsync(Is.InstanceOf<OperationCanceledException>(), async () =>
        {
            await foreach (var _ in embedder.EmbedSentencesAsync(corpus, batchSize: 4).WithCancellation(cancelAsync.Token))
            {
                if (++seenAsync == 5) await cancelAsync.CancelAsync();
            }
        });
        Assert.That(seenAsync, Is.LessThan(200));
    }

    [Test]
    public void BadArgumentsAreOneClearError()
    {
        var embedder = new ElmoEmbedder(Model);
        var e = Assert.Throws<ElmoInputException>(() => embedder.EmbedSentences([["a"], ["b"], null!]).ToList())!;
        Assert.That(e.Message, Is.EqualTo("Sentence 2 of the stream is null."));
        Assert.That(Assert.Throws<ElmoInputException>(() => embedder.EmbedBatch([["a"], null!]))!.Message, Is.EqualTo("Sentence 1 of the batch is null."));
        var mix = Assert.Throws<ArgumentException>(() => embedder.EmbedSentences([["a"]], layers: LayerChoice.Mix([1f, 2f])))!;
        Assert.That(mix.Message, Does.StartWith("The mix has 2 weights; this model has 3 layers"));
        Assert.Throws<ArgumentOutOfRangeException>(() => embedder.EmbedSentences([["a"]], batchSize: 0));
        Assert.Throws<ArgumentException>(() => LayerChoice.Mix([float.NaN, 0, 0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ElmoEmbedder(Model) { SortWindowBatches = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ElmoEmbedder(Model) { CollectAfterBytes = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ElmoEmbedder(Model) { ParallelBatches = 0 });
        Assert.That(new ElmoEmbedder(Model) { CollectAfterBytes = null }.CollectAfterBytes, Is.Null);
        Assert.That(LayerChoice.Mix([0f, 1f, 1f], 0.5f, layerNorm: true).ToString(), Is.EqualTo("--mix 0,1,1 --gamma 0.5 --layer-norm"));
    }

    [Test]
    public void EmbedFileWritesWhatElmoEmbedWrites()
    {
        var corpus = Corpus();
        using var dir = new TempDir();
        string input = dir.Write("in.jsonl", string.Join("\n", corpus.Select(s => JsonSerializer.Serialize(s))) + "\n");
        var cli = CliHarness.Run(["embed", input, dir.File("cli.hdf5"), "--average", "--batch-size", "5", "--quiet", .. CliHarness.FixtureModel]);
        Assert.That(cli.Exit, Is.EqualTo(0), cli.ToString());

        var reports = new List<EmbedProgress>();
        var done = new ElmoEmbedder(Model).EmbedFile(input, dir.File("api.hdf5"), LayerChoice.Average, new EmbedFileOptions { BatchSize = 5, Progress = reports.Add });
        Assert.That(done.Sentences, Is.EqualTo(corpus.Count));
        Assert.That(reports, Is.Not.Empty);
        Assert.That(CliHarness.Names(dir.File("api.hdf5")), Is.EquivalentTo(CliHarness.Names(dir.File("cli.hdf5"))));
        for (int i = 0; i < corpus.Count; i++)
        {
            Assert.That(CliHarness.Read(dir.File("api.hdf5"), i.ToString()), Is.EqualTo(CliHarness.Read(dir.File("cli.hdf5"), i.ToString())).Using<(float[], int[])>(SameDataset), $"sentence {i}");
        }
        Assert.That(CliHarness.ReadString(dir.File("api.hdf5"), "sentence_to_index"), Is.EqualTo(CliHarness.ReadString(dir.File("cli.hdf5"), "sentence_to_index")));

        var stateless = new ElmoEmbedder(Model, StateMode.Stateless).EmbedFileAsync(input, dir.File("stateless.hdf5"), LayerChoice.Top).GetAwaiter().GetResult();
        Assert.That(stateless.Sentences, Is.EqualTo(corpus.Count));
        Assert.That(CliHarness.Read(dir.File("stateless.hdf5"), "0").Data, Is.EqualTo(new ElmoEmbedder(Model, StateMode.Stateless).EmbedSentence(corpus[0], LayerChoice.Top).ToArray()));
        Assert.Throws<ElmoInputException>(() => new ElmoEmbedder(Model).EmbedFile(dir.File("missing.txt"), dir.File("x.hdf5")));
    }

    [Test]
    public void ThePoolReusesSessionsAndKeepsOneStreamInStatefulMode()
    {
        var corpus = Corpus();
        var embedder = new ElmoEmbedder(Model);
        for (int i = 0; i < 10; i++) embedder.EmbedSentence(corpus[i]);
        Assert.That(embedder.Sessions.SessionsCreated, Is.EqualTo(1), "one caller at a time: one session");
        Assert.That(embedder.Sessions.IdleSessions, Is.EqualTo(1));

        // Stateful: one stream of states across calls, as a stateful session over the same batches in order.
        var stateful = new ElmoEmbedder(Model, StateMode.Stateful);
        var session = Model.CreateSession(StateMode.Stateful);
        for (int start = 0; start < 12; start += 4)
        {
            var batch = corpus.Skip(start).Take(4).ToList<IReadOnlyList<string>>();
            var got = stateful.EmbedBatch(batch);
            var want = session.Run(batch).WithoutBoundaries();
            for (int b = 0; b < batch.Count; b++) Assert.That(got[b].ToArray(), Is.EqualTo(want.SentenceLayers(b)), $"batch at {start}, row {b}");
        }
        Assert.That(stateful.Sessions.SessionsCreated, Is.EqualTo(1));
        Assert.That(stateful.Sessions.MaxSessions, Is.EqualTo(1));

        var pool = new ElmoSessionPool(Model, StateMode.Stateless, maxSessions: 1);
        using (var lease = pool.Rent())
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
            Assert.Throws<OperationCanceledException>(() => pool.Rent(timeout.Token), "a second rent waits for the first");
            Assert.That(lease.Session.Mode, Is.EqualTo(StateMode.Stateless));
            lease.Dispose();
            lease.Dispose();
            Assert.Throws<ObjectDisposedException>(() => _ = lease.Session);
        }
        using (var again = pool.Rent()) Assert.That(pool.SessionsCreated, Is.EqualTo(1));
    }

    private static bool SameDataset((float[] Data, int[] Shape) a, (float[] Data, int[] Shape) b) =>
        a.Data.AsSpan().SequenceEqual(b.Data) && a.Shape.AsSpan().SequenceEqual(b.Shape);

    private static List<SentenceEmbedding> Collect(IAsyncEnumerable<SentenceEmbedding> stream) => Task.Run(async () =>
    {
        var list = new List<SentenceEmbedding>();
        await foreach (var s in stream) list.Add(s);
        return list;
    }).GetAwaiter().GetResult();

    private static async IAsyncEnumerable<IReadOnlyList<string>> AsyncSource(IEnumerable<string[]> sentences)
    {
        foreach (var s in sentences)
        {
            await Task.Yield();
            yield return s;
        }
    }
}
