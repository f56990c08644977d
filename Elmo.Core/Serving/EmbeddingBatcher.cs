using System.Diagnostics;

namespace Elmo.Core;

/// <summary>
/// Dynamic batching for a service: concurrent callers' requests wait in one bounded queue; each worker takes a batch
/// of up to <see cref="BatcherOptions.MaxBatchTokens"/> tokens and <see cref="BatcherOptions.MaxBatchSentences"/>
/// sentences, waiting at most <see cref="BatcherOptions.MaxWait"/> for it to fill, runs it on a session of the
/// embedder's pool, and hands each request its own sentences' results. When more than one batch waits, the batch is
/// the waiting requests of similar length around the oldest one (as <c>elmo embed</c> sorts by length); a request
/// larger than a batch is split between batches at sentence boundaries; the oldest waiting request always runs next.
/// </summary>
/// <remarks>
/// <para>Warm and stateless results do not depend on batching, so every request gets, bit for bit, what
/// <see cref="ElmoEmbedder.EmbedBatch"/> and <c>elmo embed</c> give for its sentences alone, whatever else shares
/// its batches. Stateful mode, and a layer-normalised mix (its statistics span the batch), would make one caller's
/// results depend on the others' and are refused.</para>
/// <para>A full queue refuses new requests at once (<see cref="QueueFullException"/>) instead of growing; a cancelled
/// request leaves the queue (sentences already running finish, and their results are dropped);
/// <see cref="Complete"/> stops taking requests and lets the queued ones finish. Workers are dedicated threads: a
/// batch is compute-bound and blocks its thread while the session's own threads run it.</para>
/// </remarks>
public sealed class EmbeddingBatcher : IDisposable
{
    private readonly object _gate = new();
    private readonly LinkedList<Job> _queue = new();
    private readonly Thread[] _workers;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _maxWaitTicks;
    private int _queuedSentences;
    private long _queuedTokens;
    private int _running;
    private bool _closed;
    private int _workersLeft;
    private long _batches, _sentences, _tokens, _completed, _rejected, _cancelled, _failed;
    private long _batchTicks;

    /// <summary>Creates the batcher and starts its workers.</summary>
    /// <param name="embedder">The embedder whose sessions run the batches (its state mode and warm state apply).</param>
    /// <param name="options">Budgets, wait and queue bounds; null for the defaults.</param>
    /// <exception cref="ArgumentException">The embedder is stateful: results would depend on other callers' requests.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public EmbeddingBatcher(ElmoEmbedder embedder, BatcherOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        if (embedder.Mode == StateMode.Stateful)
        {
            throw new ArgumentException("A stateful embedder carries LSTM states from batch to batch, so one caller's results would depend on what others sent before; batch only warm or stateless embedders.", nameof(embedder));
        }
        options ??= new BatcherOptions();
        options.Validate();
        Embedder = embedder;
        Options = options;
        _maxWaitTicks = (long)(options.MaxWait.TotalSeconds * Stopwatch.Frequency);
        _workersLeft = options.Workers;
        _workers = new Thread[options.Workers];
        for (int i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(Work) { IsBackground = true, Name = $"elmo batcher {i}" };
            _workers[i].Start();
        }
    }

    /// <summary>Raised on a worker thread after each batch (keep the handler short).</summary>
    public event Action<BatchReport>? BatchCompleted;

    /// <summary>The embedder that runs the batches.</summary>
    public ElmoEmbedder Embedder { get; }

    /// <summary>The budgets, wait and queue bounds.</summary>
    public BatcherOptions Options { get; }

    /// <summary>Completes when, after <see cref="Complete"/> or <see cref="Dispose"/>, every worker has finished.</summary>
    public Task Completion => _completion.Task;

    /// <summary>
    /// Queues the sentences and returns their vectors when they have run: one result per sentence, in request order
    /// (<see cref="SentenceEmbedding.Index"/> is the position in <paramref name="sentences"/>), in the layout of
    /// <paramref name="layers"/>, bit for bit <see cref="ElmoEmbedder.EmbedBatch"/> of these sentences alone.
    /// </summary>
    /// <param name="sentences">The sentences (tokens each; an empty sentence gives an empty result).</param>
    /// <param name="layers">What to return; null for <see cref="LayerChoice.All"/>.</param>
    /// <param name="cancellationToken">Takes the request out of the queue; the task is then cancelled.</param>
    /// <returns>The results.</returns>
    /// <exception cref="QueueFullException">The queue is full; nothing was queued.</exception>
    /// <exception cref="ElmoInputException">A sentence or a token is null.</exception>
    /// <exception cref="ArgumentException">A layer-normalised mix, or a mix whose weight count is not the model's layer count.</exception>
    /// <exception cref="InvalidOperationException">The batcher is stopping (<see cref="Complete"/>) or disposed.</exception>
    public Task<IReadOnlyList<SentenceEmbedding>> EmbedAsync(IReadOnlyList<IReadOnlyList<string>> sentences, LayerChoice? layers = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        layers ??= LayerChoice.All;
        if (layers.DependsOnBatch)
        {
            throw new ArgumentException("A layer-normalised mix depends on the other sentences of its batch, so batched results would depend on other callers' requests; use a mix without layer norm.", nameof(layers));
        }
        var mix = layers.CreateMix(Embedder.Model.Options);
        var copy = new IReadOnlyList<string>[sentences.Count];
        long tokens = 0;
        for (int i = 0; i < copy.Length; i++)
        {
            copy[i] = sentences[i] ?? throw new ElmoInputException($"Sentence {i} of the request is null.");
            for (int t = 0; t < copy[i].Count; t++)
            {
                if (copy[i][t] is null) throw new ElmoInputException($"Sentence {i} of the request has a null token at position {t}.");
            }
            tokens += copy[i].Count;
        }
        if (copy.Length == 0) return Task.FromResult<IReadOnlyList<SentenceEmbedding>>([]);
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<IReadOnlyList<SentenceEmbedding>>(cancellationToken);

        var job = new Job(this, copy, layers, mix, tokens, cancellationToken);
        // Registered before the job is visible to the workers; a cancellation from here on takes it out of the queue.
        if (cancellationToken.CanBeCanceled)
        {
            job.Registration = cancellationToken.UnsafeRegister(static state => ((Job)state!).Owner.Cancel((Job)state!), job);
        }
        Exception? refused = null;
        lock (_gate)
        {
            if (_closed)
            {
                refused = new InvalidOperationException("The batcher is stopping and takes no new requests.");
            }
            else if (_queue.Count >= Options.MaxQueuedRequests || (_queue.Count > 0 && _queuedTokens + tokens > Options.MaxQueuedTokens))
            {
                _rejected++;
                refused = new QueueFullException(
                    $"The queue is full ({_queue.Count} requests, {_queuedTokens} tokens waiting; at most {Options.MaxQueuedRequests} requests and {Options.MaxQueuedTokens} tokens).",
                    RetryAfterLocked());
            }
            else if (!job.Cancelled)
            {
                job.Node = _queue.AddLast(job);
                _queuedSentences += copy.Length;
                _queuedTokens += tokens;
                Monitor.PulseAll(_gate);
            }
        }
        if (refused is not null)
        {
            // Outside the lock: disposing waits for a cancellation callback that may be waiting for the lock.
            job.Registration.Dispose();
            throw refused;
        }
        return job.Result.Task;
    }

    /// <summary>The queue and the counters now.</summary>
    /// <returns>A snapshot.</returns>
    public BatcherStatistics GetStatistics()
    {
        lock (_gate)
        {
            return new BatcherStatistics(_queue.Count, _queuedSentences, _queuedTokens, _running,
                _batches, _sentences, _tokens, Interlocked.Read(ref _completed), _rejected, Interlocked.Read(ref _cancelled), Interlocked.Read(ref _failed));
        }
    }

    /// <summary>Takes no new requests; the queued ones still run. <see cref="Completion"/> completes when they are done.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            _closed = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// Takes no new requests, fails the queued ones (<see cref="ObjectDisposedException"/>) and waits for the batches
    /// that are running.
    /// </summary>
    public void Dispose()
    {
        List<Job> dropped;
        lock (_gate)
        {
            _closed = true;
            dropped = [.. _queue];
            _queue.Clear();
            _queuedSentences = 0;
            _queuedTokens = 0;
            foreach (var job in dropped) job.Node = null;
            Monitor.PulseAll(_gate);
        }
        foreach (var job in dropped) Fail(job, new ObjectDisposedException(nameof(EmbeddingBatcher), "The batcher was disposed before the request ran."));
        foreach (var worker in _workers)
        {
            if (worker != Thread.CurrentThread) worker.Join();
        }
    }

    /// <summary>About how long the queued tokens take at the speed of the batches so far (1 s when nothing has run yet), at least 1 s.</summary>
    private TimeSpan RetryAfterLocked()
    {
        double seconds = _tokens > 0 && _batchTicks > 0 ? _queuedTokens / (_tokens / ((double)_batchTicks / Stopwatch.Frequency)) : 1;
        return TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling(seconds / Options.Workers), 1, 3600));
    }

    private void Cancel(Job job)
    {
        lock (_gate)
        {
            if (job.Node is not null)
            {
                _queue.Remove(job.Node);
                job.Node = null;
                _queuedSentences -= job.Untaken;
                _queuedTokens -= job.UntakenTokens;
                job.Untaken = 0;
                job.UntakenTokens = 0;
            }
            job.Cancelled = true;
        }
        if (job.Result.TrySetCanceled(job.Token)) Interlocked.Increment(ref _cancelled);
    }

    private void Fail(Job job, Exception error)
    {
        job.Registration.Dispose();
        if (job.Result.TrySetException(error)) Interlocked.Increment(ref _failed);
    }

    private void Work()
    {
        var batch = new List<(Job Job, int Index)>();
        try
        {
            while (true)
            {
                batch.Clear();
                lock (_gate)
                {
                    if (!WaitForWork()) break;
                    Take(batch);
                    if (batch.Count == 0) continue;
                    _running++;
                }
                try
                {
                    Run(batch);
                }
                finally
                {
                    lock (_gate) _running--;
                }
            }
        }
        finally
        {
            if (Interlocked.Decrement(ref _workersLeft) == 0) _completion.TrySetResult();
        }
    }

    /// <summary>
    /// Under the lock: waits until there is work and either a budget is full, the oldest request has waited
    /// <see cref="BatcherOptions.MaxWait"/>, or the batcher is closing. False when closed with nothing left.
    /// </summary>
    private bool WaitForWork()
    {
        while (true)
        {
            while (_queue.Count == 0)
            {
                if (_closed) return false;
                Monitor.Wait(_gate);
            }
            if (_closed || _queuedTokens >= Options.MaxBatchTokens || _queuedSentences >= Options.MaxBatchSentences) return true;
            long remaining = _queue.First!.Value.Enqueued + _maxWaitTicks - Stopwatch.GetTimestamp();
            if (remaining <= 0) return true;
            Monitor.Wait(_gate, TimeSpan.FromSeconds((double)remaining / Stopwatch.Frequency));
        }
    }

    /// <summary>
    /// Under the lock: takes the next batch (at least one sentence). When everything waiting fits in one batch, that is
    /// everything. Otherwise the waiting requests (each request's sentences not yet taken, as one unit when they fit in
    /// a batch, else sentence by sentence) are sorted by their longest sentence and cut into consecutive batches within
    /// the budgets, shortest first, as <c>elmo embed</c> cuts its sorted sentences, and the batch that holds the oldest
    /// waiting request is taken. Requests of similar length run together (a batch runs as many LSTM steps as its
    /// longest sentence has tokens, and its last steps, with few rows left, cost nearly as much as full ones), requests
    /// stay whole where they can (so they are answered as soon as their batch ends), and the oldest request always runs
    /// next, so nothing waits behind newer requests.
    /// </summary>
    private void Take(List<(Job Job, int Index)> batch)
    {
        if (_queuedSentences <= Options.MaxBatchSentences && _queuedTokens <= Options.MaxBatchTokens)
        {
            foreach (var job in _queue) TakeUnit(new Unit(job, -1, 0, 0, 0, 0), batch);
        }
        else
        {
            var units = new List<Unit>(_queue.Count);
            foreach (var job in _queue)
            {
                if (job.Untaken <= Options.MaxBatchSentences && job.UntakenTokens <= Options.MaxBatchTokens)
                {
                    int longest = 0;
                    for (int i = 0; i < job.Sentences.Length; i++)
                    {
                        if (!job.Taken[i]) longest = Math.Max(longest, job.Sentences[i].Count);
                    }
                    units.Add(new Unit(job, -1, job.Untaken, (int)job.UntakenTokens, longest, units.Count));
                }
                else
                {
                    for (int i = 0; i < job.Sentences.Length; i++)
                    {
                        int n = job.Sentences[i].Count;
                        if (!job.Taken[i]) units.Add(new Unit(job, i, 1, n, n, units.Count));
                    }
                }
            }
            units.Sort(static (a, b) => a.Longest != b.Longest ? a.Longest.CompareTo(b.Longest) : a.Age.CompareTo(b.Age));
            for (int start = 0; start < units.Count;)
            {
                int end = start, sentences = 0, tokens = 0;
                bool oldest = false;
                while (end < units.Count && (end == start
                    || (sentences + units[end].Sentences <= Options.MaxBatchSentences && tokens + units[end].Tokens <= Options.MaxBatchTokens)))
                {
                    sentences += units[end].Sentences;
                    tokens += units[end].Tokens;
                    oldest |= units[end].Age == 0;
                    end++;
                }
                if (oldest)
                {
                    for (int k = start; k < end; k++) TakeUnit(units[k], batch);
                    break;
                }
                start = end;
            }
        }
        for (var node = _queue.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.Untaken == 0)
            {
                _queue.Remove(node);
                node.Value.Node = null;
            }
            node = next;
        }
    }

    /// <summary>Under the lock: moves a unit (one sentence, or all of a request's untaken sentences) into <paramref name="batch"/>.</summary>
    private void TakeUnit(Unit unit, List<(Job Job, int Index)> batch)
    {
        if (unit.Index >= 0)
        {
            TakeOne(unit.Job, unit.Index, batch);
            return;
        }
        for (int i = 0; i < unit.Job.Sentences.Length; i++)
        {
            if (!unit.Job.Taken[i]) TakeOne(unit.Job, i, batch);
        }
    }

    /// <summary>Under the lock: moves sentence <paramref name="index"/> of <paramref name="job"/> from the queue into <paramref name="batch"/>.</summary>
    private void TakeOne(Job job, int index, List<(Job Job, int Index)> batch)
    {
        int n = job.Sentences[index].Count;
        batch.Add((job, index));
        job.Taken[index] = true;
        job.Untaken--;
        job.UntakenTokens -= n;
        _queuedSentences--;
        _queuedTokens -= n;
    }

    /// <summary>Runs one batch and hands each sentence's result to its request.</summary>
    private void Run(List<(Job Job, int Index)> taken)
    {
        // Sentences of requests cancelled since they were taken need not run.
        var batch = taken.FindAll(t => !t.Job.Cancelled);
        if (batch.Count == 0) return;
        var watch = Stopwatch.StartNew();
        int tokens = 0;
        foreach (var (job, index) in batch) tokens += job.Sentences[index].Count;
        var requests = batch.Select(t => t.Job).Distinct().Count();
        IReadOnlyList<SentenceEmbedding> results;
        try
        {
            results = Embedder.EmbedBatch(batch.ConvertAll(t => t.Job.Sentences[t.Index]), LayerChoice.All);
        }
        catch (Exception e)
        {
            foreach (var job in batch.Select(t => t.Job).Distinct()) Fail(job, e);
            Report(batch.Count, tokens, requests, watch.Elapsed, failed: true);
            return;
        }
        for (int i = 0; i < batch.Count; i++)
        {
            var (job, index) = batch[i];
            if (job.Cancelled || job.Result.Task.IsCompleted) continue;
            try
            {
                job.Results[index] = Cut(results[i], index, job.Sentences[index], job.Layers, job.Mix);
            }
            catch (Exception e)
            {
                Fail(job, e);
                continue;
            }
            if (Interlocked.Decrement(ref job.Pending) == 0)
            {
                job.Registration.Dispose();
                if (job.Result.TrySetResult(job.Results!)) Interlocked.Increment(ref _completed);
            }
        }
        Report(batch.Count, tokens, requests, watch.Elapsed, failed: false);
    }

    private void Report(int sentences, int tokens, int requests, TimeSpan elapsed, bool failed)
    {
        lock (_gate)
        {
            _batches++;
            if (!failed)
            {
                _sentences += sentences;
                _tokens += tokens;
                _batchTicks += (long)(elapsed.TotalSeconds * Stopwatch.Frequency);
            }
        }
        BatchCompleted?.Invoke(new BatchReport(sentences, tokens, requests, elapsed, failed));
    }

    /// <summary>
    /// One sentence's result in the layout asked for, from its <c>(L+1, tokens, dim)</c> layers, with the same
    /// arithmetic as <see cref="ElmoEmbedder"/> and <c>elmo embed</c>: the top layer as it is, the mean of
    /// <see cref="CorpusEmbedder.AverageLayers"/>, the position-wise <see cref="ScalarMix.Mix(ReadOnlySpan{float}, ReadOnlySpan{byte}, int, Span{float})"/>.
    /// </summary>
    private static SentenceEmbedding Cut(SentenceEmbedding all, int index, IReadOnlyList<string> tokens, LayerChoice layers, ScalarMix? mix)
    {
        int layerCount = all.LayerCount, n = all.TokenCount, d = all.Dim;
        switch (layers.Layout)
        {
            case OutputLayout.All:
                return new SentenceEmbedding(index, tokens, all.ToArray(), layerCount, n, d, hasLayerAxis: true);
            case OutputLayout.Top:
                return new SentenceEmbedding(index, tokens, all.Layer(layerCount - 1).ToArray(), 1, n, d, hasLayerAxis: false);
            case OutputLayout.Average:
                // The sentence as a batch of one row without boundaries: (L+1, 1, n, d).
                var single = new BiLmOutput(all.ToArray(), Ones(n), [n], layerCount, 1, n, d, includesBoundaries: false);
                var average = new float[n * d];
                CorpusEmbedder.AverageLayers(single, 0, average);
                return new SentenceEmbedding(index, tokens, average, 1, n, d, hasLayerAxis: false);
            default:
                var mixed = new float[n * d];
                mix!.Mix(all.Values, Ones(n), d, mixed);
                return new SentenceEmbedding(index, tokens, mixed, 1, n, d, hasLayerAxis: false);
        }
    }

    private static byte[] Ones(int n)
    {
        var mask = new byte[n];
        mask.AsSpan().Fill(1);
        return mask;
    }

    /// <summary>What a batch is cut from: one sentence (<paramref name="Index"/>), or all of a request's untaken sentences (-1).</summary>
    /// <param name="Job">The request.</param>
    /// <param name="Index">The sentence, or -1 for all untaken ones.</param>
    /// <param name="Sentences">Sentences in the unit.</param>
    /// <param name="Tokens">Tokens in the unit.</param>
    /// <param name="Longest">Tokens of its longest sentence: what the batches are sorted by.</param>
    /// <param name="Age">Its place in the queue (0: the oldest).</param>
    private readonly record struct Unit(Job Job, int Index, int Sentences, int Tokens, int Longest, int Age);

    /// <summary>One request: its sentences, what to return, its results as they come, and where it is in the queue.</summary>
    private sealed class Job(EmbeddingBatcher owner, IReadOnlyList<string>[] sentences, LayerChoice layers, ScalarMix? mix, long tokens, CancellationToken token)
    {
        public EmbeddingBatcher Owner { get; } = owner;

        public IReadOnlyList<string>[] Sentences { get; } = sentences;

        public LayerChoice Layers { get; } = layers;

        public ScalarMix? Mix { get; } = mix;

        public CancellationToken Token { get; } = token;

        public long Enqueued { get; } = Stopwatch.GetTimestamp();

        public SentenceEmbedding[] Results { get; } = new SentenceEmbedding[sentences.Length];

        public TaskCompletionSource<IReadOnlyList<SentenceEmbedding>> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Which sentences have been taken into a batch (under the batcher's lock).</summary>
        public bool[] Taken { get; } = new bool[sentences.Length];

        /// <summary>Sentences not yet taken (under the batcher's lock).</summary>
        public int Untaken { get; set; } = sentences.Length;

        /// <summary>Tokens of the sentences not yet taken (under the batcher's lock).</summary>
        public long UntakenTokens { get; set; } = tokens;

        /// <summary>Sentences whose results are not in yet.</summary>
        public int Pending = sentences.Length;

        public volatile bool Cancelled;

        /// <summary>The request's place in the queue while it has sentences not yet taken (under the batcher's lock).</summary>
        public LinkedListNode<Job>? Node { get; set; }

        public CancellationTokenRegistration Registration { get; set; }
    }
}
