using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Robustness;

/// <summary>
/// One model shared by many threads gives the same results as sequential calls; one session used by two
/// threads at once is refused, never silently mixed.
/// </summary>
[TestFixture]
public class ConcurrencyTests
{
    private static ElmoModel Model => Reference.TinyModel;

    /// <summary>Batches of the fixture sentences of varying sizes, plus odd inputs.</summary>
    private static IReadOnlyList<string>[][] Batches()
    {
        var s = Reference.Sentences();
        return
        [
            s.Take(4).ToArray(),
            s.Skip(4).Take(7).ToArray(),
            [s[11]],
            s.Skip(12).Take(10).Append([]).Append(["\uD800x", new string('q', 500)]).ToArray(),
            s.Skip(22).ToArray(),
        ];
    }

    private static float[][] RunAll(ElmoSession session, IReadOnlyList<string>[][] batches) =>
        batches.Select(b => session.Run(b).Layers).ToArray();

    /// <summary>12 threads, each with its own sessions (stateless, stateful, 1 or 2 threads per call) on one shared model.</summary>
    [Test]
    public void SharedModelGivesSequentialResultsUnderStress()
    {
        var batches = Batches();
        var statelessExpected = RunAll(Model.CreateSession(StateMode.Stateless, threads: 1), batches);
        var statefulExpected = RunAll(Model.CreateSession(StateMode.Stateful, threads: 1), batches);
        var vocabulary = Reference.Sentences().SelectMany(x => x).Distinct().ToArray();
        var tokensExpected = Model.EmbedTokens(vocabulary, threads: 1);

        const int threadCount = 12, rounds = 3;
        var barrier = new Barrier(threadCount);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var threads = Enumerable.Range(0, threadCount).Select(id => new Thread(() =>
        {
            try
            {
                barrier.SignalAndWait();
                for (int round = 0; round < rounds; round++)
                {
                    int inner = 1 + (id + round) % 2;
                    switch ((id + round) % 3)
                    {
                        case 0:
                            Compare(RunAll(Model.CreateSession(StateMode.Stateless, threads: inner), batches), statelessExpected, $"thread {id} round {round} stateless");
                            break;
                        case 1:
                            Compare(RunAll(Model.CreateSession(StateMode.Stateful, threads: inner), batches), statefulExpected, $"thread {id} round {round} stateful");
                            break;
                        default:
                            if (!Model.EmbedTokens(vocabulary, threads: inner).AsSpan().SequenceEqual(tokensExpected)) failures.Enqueue($"thread {id} round {round}: token embeddings differ");
                            break;
                    }
                }
            }
            catch (Exception e)
            {
                failures.Enqueue($"thread {id}: {e}");
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        foreach (var t in threads) Assert.That(t.Join(TimeSpan.FromSeconds(120)), Is.True, "a thread hung");
        Assert.That(failures, Is.Empty);

        void Compare(float[][] actual, float[][] expected, string what)
        {
            for (int b = 0; b < expected.Length; b++)
            {
                if (!actual[b].AsSpan().SequenceEqual(expected[b])) failures.Enqueue($"{what}: batch {b} differs from the sequential result");
            }
        }
    }

    /// <summary>A long batch is running on one thread; a second call on the same session is refused, and nothing is mixed.</summary>
    [TestCase(StateMode.Stateless)]
    [TestCase(StateMode.Stateful)]
    public void SessionUsedFromTwoThreadsIsRefused(StateMode mode)
    {
        var words = Reference.Sentences().SelectMany(x => x).ToArray();
        IReadOnlyList<string> longSentence = Enumerable.Range(0, 3000).Select(i => words[i % words.Length]).ToArray();
        IReadOnlyList<string>[] longBatch = [longSentence, longSentence.Take(1000).ToArray()];
        IReadOnlyList<string>[] small = [["a", "b"]];

        var session = Model.CreateSession(mode, threads: 1);
        var running = Task.Factory.StartNew(() => session.Run(longBatch), TaskCreationOptions.LongRunning);
        Assert.That(SpinWait.SpinUntil(() => session.IsRunning || running.IsCompleted, TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(running.IsCompleted, Is.False, "the long batch finished before the second call could overlap it");

        var e = Assert.Throws<InvalidOperationException>(() => session.Run(small))!;
        Assert.That(e.Message, Does.Contain("another thread"));
        Assert.Throws<InvalidOperationException>(() => session.Run(Model.Mapper.BatchToIds(small)));
        Assert.Throws<InvalidOperationException>(() => session.Reset());
        Assert.That(running.Wait(TimeSpan.FromSeconds(120)), Is.True, "the long batch hung");

        // The running call was not disturbed: its result and carried state are those of a session that ran it alone.
        var alone = Model.CreateSession(mode, threads: 1);
        Assert.That(running.Result.Layers.AsSpan().SequenceEqual(alone.Run(longBatch).Layers), Is.True);
        if (mode == StateMode.Stateful)
        {
            var (a, b) = (session.CarriedState!, alone.CarriedState!);
            for (int i = 0; i < a.Hidden.Length; i++)
            {
                Assert.That(a.Hidden[i], Is.EqualTo(b.Hidden[i]));
                Assert.That(a.Cell[i], Is.EqualTo(b.Cell[i]));
            }
        }

        // The guard is released: the session works again, and continues exactly as the undisturbed one.
        Assert.That(session.Run(small).Layers.AsSpan().SequenceEqual(alone.Run(small).Layers), Is.True);
        Assert.DoesNotThrow(session.Reset);
    }
}
