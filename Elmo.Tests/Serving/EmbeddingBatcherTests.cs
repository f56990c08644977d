using System.Runtime.InteropServices;
using Elmo.Core;
using Elmo.Tests.Cli;

namespace Elmo.Tests.Serving;

/// <summary>
/// <see cref="EmbeddingBatcher"/>: concurrent requests share batches and each still gets, bit for bit, what its
/// sentences give alone and through <c>elmo embed</c>; the queue is bounded, cancellable and drains on
/// <see cref="EmbeddingBatcher.Complete"/>. The demo model throughout (no reference data needed); ~3 s in all.
/// </summary>
public class EmbeddingBatcherTests
{
    private static readonly ElmoModel Model = ElmoModel.Demo();

    internal static LayerChoice Choice(int i) => (i % 4) switch
    {
        0 => LayerChoice.All,
        1 => LayerChoice.Top,
        2 => LayerChoice.Average,
        _ => LayerChoice.Mix([0.5f, -1f, 2f], gamma: 0.75f),
    };

    /// <summary>Request <paramref name="i"/> of a mixed load: 1–6 sentences of 1–30 tokens, some repeated words, some unicode.</summary>
    internal static string[][] Request(int i)
    {
        var random = new Random(i);
        return Enumerable.Range(0, 1 + random.Next(6))
            .Select(s => Enumerable.Range(0, 1 + random.Next(30)).Select(t => random.Next(8) == 0 ? "Ünïcødé" : $"w{random.Next(200)}").ToArray())
            .ToArray();
    }

    internal static void AssertBitwise(SentenceEmbedding actual, SentenceEmbedding expected, string what)
    {
        Assert.That(actual.Shape, Is.EqualTo(expected.Shape), $"{what}: shape");
        Assert.That(MemoryMarshal.Cast<float, int>(actual.Values).SequenceEqual(MemoryMarshal.Cast<float, int>(expected.Values)), Is.True, $"{what}: values differ in some bit");
    }

    [TestCase(StateMode.Warm)]
    [TestCase(StateMode.Stateless)]
    public async Task ConcurrentRequestsShareBatchesAndGetTheirOwnVectorsBitwise(StateMode mode)
    {
        var batches = new List<BatchReport>();
        using var batcher = new EmbeddingBatcher(new ElmoEmbedder(Model, mode), new BatcherOptions { MaxWait = TimeSpan.FromMilliseconds(20), MaxBatchTokens = 300, Workers = 2 });
        batcher.BatchCompleted += b =>
        {
            lock (batches) batches.Add(b);
        };
        const int Clients = 16, PerClient = 4;
        var answers = await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            var mine = new List<(int, IReadOnlyList<SentenceEmbedding>)>();
            for (int r = 0; r < PerClient; r++)
            {
                int id = c * PerClient + r;
                mine.Add((id, await batcher.EmbedAsync(Request(id), Choice(id))));
            }
            return mine;
        })));

        var alone = new ElmoEmbedder(Model, mode);
        foreach (var (id, results) in answers.SelectMany(a => a))
        {
            var request = Request(id);
            var expected = alone.EmbedBatch(request, Choice(id));
            Assert.That(results, Has.Count.EqualTo(request.Length));
            for (int s = 0; s < request.Length; s++)
            {
                Assert.That(results[s].Index, Is.EqualTo(s));
                Assert.That(results[s].Tokens, Is.EqualTo(request[s]));
                AssertBitwise(results[s], expected[s], $"request {id} ({Choice(id)}), sentence {s}");
            }
        }
        Assert.That(batches.Any(b => b.Requests > 1), Is.True, "some batch held sentences of several requests");
        Assert.That(batches.All(b => b.Tokens <= 300 || b.Sentences == 1), Is.True, "token budget");
        var stats = batcher.GetStatistics();
        Assert.That((stats.Completed, stats.QueuedRequests, stats.QueuedTokens, stats.Failed), Is.EqualTo((Clients * PerClient, 0, 0L, 0L)));
        Assert.That(stats.Sentences, Is.EqualTo(answers.SelectMany(a => a).Sum(a => a.Item2.Count)));
    }

    [Test]
    public async Task VectorsAreBitwiseThoseOfElmoEmbedUnderConcurrency()
    {
        var corpus = Enumerable.Range(0, 24).SelectMany(Request).ToArray();
        using var dir = new TempDir();
        string input = dir.Write("in.txt", string.Join("\n", corpus.Select(s => string.Join(' ', s))) + "\n");
        using var batcher = new EmbeddingBatcher(new ElmoEmbedder(Model), new BatcherOptions { MaxWait = TimeSpan.FromMilliseconds(10), MaxBatchTokens = 200 });
        foreach (var layers in new[] { "--all", "--top", "--average", "--mix 0.5,-1,2 --gamma 0.75" })
        {
            var cli = CliHarness.Run(["embed", input, dir.File("out.hdf5"), .. layers.Split(' '), "--quiet", "--model", "demo"]);
            Assert.That(cli.Exit, Is.Zero, cli.ToString());
            var choice = layers switch
            {
                "--all" => LayerChoice.All,
                "--top" => LayerChoice.Top,
                "--average" => LayerChoice.Average,
                _ => LayerChoice.Mix([0.5f, -1f, 2f], gamma: 0.75f),
            };
            // One request per sentence, all at once: they share batches in an order of their own.
            var results = await Task.WhenAll(corpus.Select(s => Task.Run(() => batcher.EmbedAsync([s], choice))));
            for (int i = 0; i < corpus.Length; i++)
            {
                var (data, shape) = CliHarness.Read(dir.File("out.hdf5"), i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Assert.That(results[i][0].Shape, Is.EqualTo(shape), $"sentence {i} {layers}: shape");
                Assert.That(MemoryMarshal.Cast<float, int>(results[i][0].Values).SequenceEqual(MemoryMarshal.Cast<float, int>(data.AsSpan())), Is.True, $"sentence {i} {layers}: bits");
            }
        }
    }

    [Test]
    public async Task ARequestLargerThanTheBudgetIsSplitAtSentencesAndComesBackWhole()
    {
        var reports = new List<BatchReport>();
        using var batcher = new EmbeddingBatcher(new ElmoEmbedder(Model), new BatcherOptions { MaxBatchTokens = 40, MaxBatchSentences = 3, MaxWait = TimeSpan.Zero });
        batcher.BatchCompleted += r =>
        {
            lock (reports) reports.Add(r);
        };
        var request = Enumerable.Range(0, 10).Select(i => Enumerable.Range(0, 5 + 7 * (i % 3)).Select(t => $"t{i}.{t}").ToArray()).ToArray();
        request[4] = Enumerable.Range(0, 60).Select(t => $"long{t}").ToArray(); // longer than the budget: runs alone
        var results = await batcher.EmbedAsync(request, LayerChoice.Top);
        var expected = new ElmoEmbedder(Model).EmbedBatch(request, LayerChoice.Top);
        for (int s = 0; s < request.Length; s++) AssertBitwise(results[s], expected[s], $"sentence {s}");
        Assert.That(reports, Has.Count.GreaterThan(3), "split into several batches");
        Assert.That(reports.All(r => r.Sentences <= 3 && (r.Tokens <= 40 || r.Sentences == 1)), Is.True, string.Join("; ", reports));
        Assert.That(reports.Sum(r => r.Sentences), Is.EqualTo(request.Length));
    }

    [Test]
    public async Task WhenMoreThanABatchWaitsSimilarLengthsRunTogetherAndTheOldestSentenceFirst()
    {
        var reports = new List<BatchReport>();
        using var batcher = new EmbeddingBatcher(new ElmoEmbedder(Model), new BatcherOptions { MaxBatchSentences = 3, MaxBatchTokens = 1000, MaxWait = TimeSpan.Zero });
        batcher.BatchCompleted += r =>
        {
            lock (reports) reports.Add(r);
        };
        static string[][] Sentences(params int[] lengths) => [.. lengths.Select((n, i) => Enumerable.Range(0, n).Select(t => $"w{i}.{t}").ToArray())];

        // Sorted: 1 2 3 | 4 8 9. The oldest sentence (9 tokens) is in the second cut, which runs first.
        var first = Sentences(9, 1, 2, 3, 8, 4);
        var results = await batcher.EmbedAsync(first, LayerChoice.Top);
        var expected = new ElmoEmbedder(Model).EmbedBatch(first, LayerChoice.Top);
        for (int s = 0; s < first.Length; s++) AssertBitwise(results[s], expected[s], $"sentence {s}");
        Assert.That(Reported(2), Is.EqualTo(new[] { (3, 21), (3, 6) }));

        // Sorted: 1 2 3 | 4 6 7 | 8 9. The oldest (1 token) is in the first cut; then 4 6 7 | 8 9, the oldest being 9.
        lock (reports) reports.Clear();
        var second = Sentences(1, 9, 2, 8, 3, 7, 4, 6);
        results = await batcher.EmbedAsync(second, LayerChoice.Top);
        expected = new ElmoEmbedder(Model).EmbedBatch(second, LayerChoice.Top);
        for (int s = 0; s < second.Length; s++) AssertBitwise(results[s], expected[s], $"sentence {s}");
        Assert.That(Reported(3), Is.EqualTo(new[] { (3, 6), (2, 17), (3, 17) }));

        // The report of the last batch follows its results: wait for it.
        (int, int)[] Reported(int count)
        {
            SpinWait.SpinUntil(() =>
            {
                lock (reports) return reports.Count >= count;
            }, TimeSpan.FromSeconds(10));
            lock (reports) return [.. reports.Select(r => (r.Sentences, r.Tokens))];
        }
    }

    [Test]
    public async Task AFullQueueRefusesAtOnceAndTheRestStillRuns()
    {
        using var batcher = new EmbeddingBatcher(new ElmoEmbedder(Model), new BatcherOptions { MaxWait = TimeSpan.FromSeconds(10), MaxQueuedRequests = 2, MaxBatchTokens = 10_000 });
        var first = batcher.EmbedAsync([["a", "b"]]);
        var second = batcher.EmbedAsync([["c"]]);
        var full = Assert.Throws<QueueFullException>(() => batcher.EmbedAsync([["d"]]));
        Assert.That(full!.RetryAfter, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(full.Message, Does.Contain("2 requests"));
        Assert.That(batcher.GetStatistics().Rejected, Is.EqualTo(1));

        using var tokens = new EmbeddingBatcher(new ElmoEmbedder(Model), new BatcherOptions { MaxWait = TimeSpan.FromSeconds(10), MaxQueuedTokens = 5, MaxBatchTokens = 10_000 });
        var big = tokens.EmbedAsync([["a", "b", "c", "d", "e", "f", "g"]]); // alone in the queue: taken even beyond the bound
        Assert.Throws<QueueFullException>(() => tokens.EmbedAsync([["x"]]));

        // Complete: no more waiting; the queued requests run.
        batcher.Complete();
        tokens.Complete();
        Assert.That((await first).Count + (await second).Count + (await big).Count, Is.EqualTo(3));
        Assert.Throws<InvalidOperationException>(() => batcher.EmbedAsync([["late"]]));
        await batcher.Completion.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Test]
    public async Task ACancelledRequestLeavesTheQueue()
    {
        using var batcher = new EmbeddingBatcher(new ElmoEmbedder(Model), new BatcherOptions { MaxWait = TimeSpan.FromSeconds(10), MaxBatchTokens = 10_000 });
        using var cancel = new CancellationTokenSource();
        var kept = batcher.EmbedAsync([["kept", "one"]]);
        var dropped = batcher.EmbedAsync([["dropped", "x", "y"], ["z"]], LayerChoice.Top, cancel.Token);
        Assert.That(batcher.GetStatistics() is { QueuedRequests: 2, QueuedSentences: 3, QueuedTokens: 6 }, Is.True);
        cancel.Cancel();
        Assert.That(dropped.IsCanceled, Is.True);
        Assert.That(batcher.GetStatistics() is { QueuedRequests: 1, QueuedSentences: 1, QueuedTokens: 2, Cancelled: 1 }, Is.True, batcher.GetStatistics().ToString());
        Assert.ThrowsAsync<TaskCanceledException>(async () => await dropped);

        // Already cancelled: never queued.
        Assert.That(batcher.EmbedAsync([["a"]], null, cancel.Token).IsCanceled, Is.True);
        batcher.Complete();
        var result = await kept;
        AssertBitwise(result[0], new ElmoEmbedder(Model).EmbedSentence(["kept", "one"]), "the request left in the queue");
        Assert.That(batcher.GetStatistics().Sentences, Is.EqualTo(1), "the cancelled sentences did not run");
    }

    [Test]
    public void WhatWouldDependOnOtherRequestsIsRefused()
    {
        var stateful = Assert.Throws<ArgumentException>(() => _ = new EmbeddingBatcher(new ElmoEmbedder(Model, StateMode.Stateful)));
        Assert.That(stateful!.Message, Does.Contain("stateful"));
        using var batcher = new EmbeddingBatcher(new ElmoEmbedder(Model));
        var norm = Assert.Throws<ArgumentException>(() => batcher.EmbedAsync([["a"]], LayerChoice.Mix([0f, 0f, 0f], layerNorm: true)));
        Assert.That(norm!.Message, Does.Contain("layer-normalised"));
        var weights = Assert.Throws<ArgumentException>(() => batcher.EmbedAsync([["a"]], LayerChoice.Mix([0f, 0f])));
        Assert.That(weights!.Message, Does.Contain("3 layers"));
        Assert.Throws<ElmoInputException>(() => batcher.EmbedAsync([["a"], null!]));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new EmbeddingBatcher(new ElmoEmbedder(Model), new BatcherOptions { MaxBatchTokens = 0 }));
        Assert.That(batcher.EmbedAsync([]).Result, Is.Empty);
    }

    [Test]
    public async Task DisposeFailsWhatIsQueuedAndStopsTheWorkers()
    {
        var batcher = new EmbeddingBatcher(new ElmoEmbedder(Model), new BatcherOptions { MaxWait = TimeSpan.FromSeconds(10), MaxBatchTokens = 10_000, Workers = 2 });
        var queued = batcher.EmbedAsync([["a"]]);
        batcher.Dispose();
        Assert.ThrowsAsync<ObjectDisposedException>(async () => await queued);
        await batcher.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Throws<InvalidOperationException>(() => batcher.EmbedAsync([["b"]]));
    }
}
