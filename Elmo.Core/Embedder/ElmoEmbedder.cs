using System.Runtime.CompilerServices;

namespace Elmo.Core;

/// <summary>
/// AllenNLP's <c>ElmoEmbedder</c> for .NET: embeds tokenised sentences and returns their vectors in memory, one
/// <see cref="SentenceEmbedding"/> per sentence, in the shapes <c>elmo embed</c> writes, bit for bit the values
/// <c>elmo embed</c> gives with the same settings. Thread-safe: any number of threads (or async callers) share one
/// embedder over one model; each call runs on a session rented from <see cref="Sessions"/>.
/// </summary>
/// <remarks>
/// <para>Every sentence starts from the warm state by default (<see cref="ElmoModel.DefaultStateMode"/>), like the
/// rest of the library and the CLI; <see cref="StateMode.Stateless"/> is one argument away. Warm and stateless
/// results do not depend on batching, order or threads, so <see cref="EmbedSentences(IEnumerable{IReadOnlyList{string}}, int, LayerChoice?, CancellationToken)"/>
/// batches sentences of similar length together and restores the input order.</para>
/// <para><see cref="StateMode.Stateful"/> (AllenNLP's <c>ElmoEmbedder</c>, <c>elmo embed --stateful</c>) carries
/// LSTM states from batch to batch per row: its results depend on everything embedded before. The embedder then
/// runs batches in input order on its one session, and concurrent callers take turns on that one stream.</para>
/// </remarks>
/// <example>
/// <code>
/// var embedder = new ElmoEmbedder(ElmoModel.Demo());
/// SentenceEmbedding e = embedder.EmbedSentence(["The", "cat", "sat", "."]);   // (3, 4, 128): layers, tokens, dim
/// ReadOnlySpan&lt;float&gt; cat = e.Vector(layer: 2, token: 1);
/// foreach (var s in embedder.EmbedSentences(File.ReadLines("corpus.txt").Select(l => l.Split(' ')), layers: LayerChoice.Top))
///     Use(s.Index, s.Vector(0));                                               // (tokens, dim) each, in input order
/// </code>
/// </example>
public sealed class ElmoEmbedder
{
    /// <summary>The default sentences per batch (as <c>elmo embed</c>).</summary>
    public const int DefaultBatchSize = 64;

    /// <summary>Creates an embedder over <paramref name="model"/> with its own pool of sessions.</summary>
    /// <param name="model">The shared model.</param>
    /// <param name="mode">How states start: warm (default), <see cref="StateMode.Stateless"/> or <see cref="StateMode.Stateful"/>.</param>
    /// <param name="warmState">The warm state (warm mode); null for <see cref="ElmoModel.WarmState"/> (the cached built-in one).</param>
    /// <param name="threads">Maximum threads one batch uses (default: all processors).</param>
    public ElmoEmbedder(ElmoModel model, StateMode mode = ElmoModel.DefaultStateMode, LstmState? warmState = null, int? threads = null)
        : this(new ElmoSessionPool(model, mode, warmState, threads))
    {
    }

    /// <summary>Creates an embedder that runs on the sessions of <paramref name="sessions"/> (which others may share).</summary>
    /// <param name="sessions">The pool; its mode, warm state and threads apply.</param>
    public ElmoEmbedder(ElmoSessionPool sessions)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        Sessions = sessions;
    }

    /// <summary>The shared model.</summary>
    public ElmoModel Model => Sessions.Model;

    /// <summary>How states start and carry over.</summary>
    public StateMode Mode => Sessions.Mode;

    /// <summary>The sessions every call runs on.</summary>
    public ElmoSessionPool Sessions { get; }

    /// <summary>
    /// Batches per sorting window of <see cref="EmbedSentences(IEnumerable{IReadOnlyList{string}}, int, LayerChoice?, CancellationToken)"/>
    /// (default 4): the stream reads this many batches of sentences ahead, sorts them by length, and holds their
    /// results until each can be returned in input order, so memory holds at most one window. 1 turns sorting off.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A value below 1.</exception>
    public int SortWindowBatches
    {
        get;
        init => field = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "SortWindowBatches must be at least 1.");
    } = 4;

    /// <summary>
    /// Batches of one window of <see cref="EmbedSentences(IEnumerable{IReadOnlyList{string}}, int, LayerChoice?, CancellationToken)"/>
    /// (and of <see cref="EmbedFile(string, string, LayerChoice?, EmbedFileOptions?, CancellationToken)"/>) run side by
    /// side, each on its own pooled session with an even share of <see cref="ElmoSessionPool.ThreadsPerSession"/>;
    /// null (the default) chooses (<see cref="BatchParallelism.Choose"/>: up to 2 threads one batch at a time on all
    /// of them, beyond that a batch per two threads, at most the window's batches). The results are the same bits.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A value below 1.</exception>
    public int? ParallelBatches
    {
        get;
        init => field = value is null or >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "ParallelBatches must be at least 1, or null.");
    }

    /// <summary>The default of <see cref="CollectAfterBytes"/>: 64 MiB.</summary>
    public const long DefaultCollectAfterBytes = 64L << 20;

    /// <summary>
    /// Bytes the process may allocate between two garbage collections that a stream of
    /// <see cref="EmbedSentences(IEnumerable{IReadOnlyList{string}}, int, LayerChoice?, CancellationToken)"/> asks for
    /// (checked after each batch; default <see cref="DefaultCollectAfterBytes"/>; null leaves it to the GC). The GC sizes
    /// its budgets by the heap, which holds the model's weights, so on its own it lets a long stream pile up hundreds of
    /// megabytes of garbage (batch temporaries, results the caller has dropped) before it runs; a full, non-compacting
    /// collection of a heap made of weight arrays takes milliseconds.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A value below 1.</exception>
    public long? CollectAfterBytes
    {
        get;
        init => field = value is null or >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "CollectAfterBytes must be positive, or null.");
    } = DefaultCollectAfterBytes;

    /// <summary>The process's allocated bytes when a stream last asked for a collection.</summary>
    private long _allocatedAtCollection = GC.GetTotalAllocatedBytes();

    /// <summary>Embeds one sentence (AllenNLP's <c>embed_sentence</c>).</summary>
    /// <param name="tokens">The tokens (an empty list gives an empty result).</param>
    /// <param name="layers">What to return; null for <see cref="LayerChoice.All"/>: <c>(L+1, tokens, 2·projection_dim)</c>.</param>
    /// <returns>The sentence's vectors.</returns>
    /// <exception cref="ArgumentException">A mix whose weight count is not the model's layer count.</exception>
    public SentenceEmbedding EmbedSentence(IReadOnlyList<string> tokens, LayerChoice? layers = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        return EmbedBatch([tokens], layers)[0];
    }

    /// <summary>Asynchronous <see cref="EmbedSentence"/>: runs on the thread pool.</summary>
    /// <param name="tokens">The tokens.</param>
    /// <param name="layers">What to return; null for all layers.</param>
    /// <param name="cancellationToken">Cancels before the sentence runs.</param>
    /// <returns>The sentence's vectors.</returns>
    public async Task<SentenceEmbedding> EmbedSentenceAsync(IReadOnlyList<string> tokens, LayerChoice? layers = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        return (await EmbedBatchAsync([tokens], layers, cancellationToken).ConfigureAwait(false))[0];
    }

    /// <summary>
    /// Embeds the sentences as one batch, as given (AllenNLP's <c>embed_batch</c>); the session's memory cap may run
    /// it in groups of rows, which changes no bit.
    /// </summary>
    /// <param name="sentences">The sentences.</param>
    /// <param name="layers">What to return; null for all layers.</param>
    /// <returns>One result per sentence, in order (<see cref="SentenceEmbedding.Index"/> is the row).</returns>
    /// <exception cref="ElmoInputException">A sentence is null, or the batch is too large for one call.</exception>
    /// <exception cref="ArgumentException">A mix whose weight count is not the model's layer count.</exception>
    public IReadOnlyList<SentenceEmbedding> EmbedBatch(IReadOnlyList<IReadOnlyList<string>> sentences, LayerChoice? layers = null)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        layers ??= LayerChoice.All;
        var mix = layers.CreateMix(Model.Options);
        var batch = Number(sentences, 0);
        using var lease = Sessions.Rent();
        return Run(lease.Pooled, batch, layers, mix);
    }

    /// <summary>Asynchronous <see cref="EmbedBatch"/>: waits for a session without blocking, then runs on the thread pool.</summary>
    /// <param name="sentences">The sentences.</param>
    /// <param name="layers">What to return; null for all layers.</param>
    /// <param name="cancellationToken">Cancels before the batch runs.</param>
    /// <returns>One result per sentence, in order.</returns>
    public async Task<IReadOnlyList<SentenceEmbedding>> EmbedBatchAsync(IReadOnlyList<IReadOnlyList<string>> sentences, LayerChoice? layers = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        layers ??= LayerChoice.All;
        var mix = layers.CreateMix(Model.Options);
        var batch = Number(sentences, 0);
        using var lease = await Sessions.RentAsync(cancellationToken).ConfigureAwait(false);
        return await Task.Run(() => Run(lease.Pooled, batch, layers, mix), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Embeds a stream of sentences lazily (AllenNLP's <c>embed_sentences</c>): reads a window of
    /// <see cref="SortWindowBatches"/> batches ahead, runs them sorted by length, and returns the results in input
    /// order. Memory stays bounded by one window whatever the length of the input (which is read once, never
    /// counted or stored).
    /// </summary>
    /// <param name="sentences">The sentences, enumerated once, as results are requested.</param>
    /// <param name="batchSize">Sentences per batch.</param>
    /// <param name="layers">What to return; null for all layers.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>One result per sentence, in input order (<see cref="SentenceEmbedding.Index"/> counts from 0).</returns>
    /// <exception cref="ElmoInputException">A sentence is null (when it is reached).</exception>
    /// <exception cref="ArgumentException">A mix whose weight count is not the model's layer count.</exception>
    public IEnumerable<SentenceEmbedding> EmbedSentences(IEnumerable<IReadOnlyList<string>> sentences, int batchSize = DefaultBatchSize, LayerChoice? layers = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        layers ??= LayerChoice.All;
        return Stream(sentences, batchSize, layers, layers.CreateMix(Model.Options), cancellationToken);
    }

    /// <summary>Asynchronous <see cref="EmbedSentences"/>: each batch runs on the thread pool while the caller awaits.</summary>
    /// <param name="sentences">The sentences, enumerated once.</param>
    /// <param name="batchSize">Sentences per batch.</param>
    /// <param name="layers">What to return; null for all layers.</param>
    /// <param name="cancellationToken">Stops between batches (as does the token given to <c>WithCancellation</c>).</param>
    /// <returns>One result per sentence, in input order.</returns>
    public IAsyncEnumerable<SentenceEmbedding> EmbedSentencesAsync(IEnumerable<IReadOnlyList<string>> sentences, int batchSize = DefaultBatchSize, LayerChoice? layers = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        layers ??= LayerChoice.All;
        return StreamAsync(sentences, batchSize, layers, layers.CreateMix(Model.Options), cancellationToken);
    }

    /// <summary>Asynchronous <see cref="EmbedSentences"/> over an asynchronous source (a file read asynchronously, a channel, a network stream).</summary>
    /// <param name="sentences">The sentences, enumerated once.</param>
    /// <param name="batchSize">Sentences per batch.</param>
    /// <param name="layers">What to return; null for all layers.</param>
    /// <param name="cancellationToken">Stops between batches (as does the token given to <c>WithCancellation</c>).</param>
    /// <returns>One result per sentence, in input order.</returns>
    public IAsyncEnumerable<SentenceEmbedding> EmbedSentencesAsync(IAsyncEnumerable<IReadOnlyList<string>> sentences, int batchSize = DefaultBatchSize, LayerChoice? layers = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        layers ??= LayerChoice.All;
        return StreamAsync(sentences, batchSize, layers, layers.CreateMix(Model.Options), cancellationToken);
    }

    /// <summary>
    /// Embeds a text or JSON-lines file into an HDF5 file as <c>elmo embed</c> does (AllenNLP's <c>embed_file</c>),
    /// through <see cref="CorpusEmbedder"/> with this embedder's state mode, warm state and threads.
    /// </summary>
    /// <param name="inputPath">One sentence per line: tokens separated by white space (<c>.txt</c>), or a JSON array of tokens (<c>.jsonl</c>).</param>
    /// <param name="outputPath">The HDF5 file to write (replaced only when the run succeeds).</param>
    /// <param name="layers">What to write; null for all layers.</param>
    /// <param name="options">Batch size, input format and keys; null for the defaults.</param>
    /// <param name="cancellationToken">Stops between batches; no output is left behind.</param>
    /// <returns>The final progress (sentences, tokens, elapsed).</returns>
    /// <exception cref="ElmoInputException">The input is missing or has a bad line.</exception>
    /// <exception cref="ElmoOutputException">The output cannot be written.</exception>
    public EmbedProgress EmbedFile(string inputPath, string outputPath, LayerChoice? layers = null, EmbedFileOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputPath);
        options ??= new EmbedFileOptions();
        using var input = CorpusInput.FromFile(inputPath, options.Format, options.SkipBlank);
        return EmbedFile(input, outputPath, layers, options, cancellationToken);
    }

    /// <summary><see cref="EmbedFile(string, string, LayerChoice?, EmbedFileOptions?, CancellationToken)"/> for any <see cref="CorpusInput"/> (sentences in memory, a file).</summary>
    /// <param name="input">The input (read twice: once to count and check, once to embed).</param>
    /// <param name="outputPath">The HDF5 file to write.</param>
    /// <param name="layers">What to write; null for all layers.</param>
    /// <param name="options">Batch size and keys (its format options do not apply); null for the defaults.</param>
    /// <param name="cancellationToken">Stops between batches; no output is left behind.</param>
    /// <returns>The final progress.</returns>
    public EmbedProgress EmbedFile(CorpusInput input, string outputPath, LayerChoice? layers = null, EmbedFileOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(outputPath);
        options ??= new EmbedFileOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options.BatchSize));
        layers ??= LayerChoice.All;
        var settings = new EmbedSettings
        {
            Layout = layers.Layout,
            Mix = layers.CreateMix(Model.Options),
            BatchSize = options.BatchSize,
            Mode = Mode,
            WarmState = Sessions.WarmState,
            Threads = Sessions.ThreadsPerSession,
            ParallelBatches = ParallelBatches,
            UseSentenceKeys = options.UseSentenceKeys,
            ForgetSentences = options.ForgetSentences,
        };
        return CorpusEmbedder.Run(Model, input, outputPath, settings, options.Progress, cancellationToken);
    }

    /// <summary>Asynchronous <see cref="EmbedFile(string, string, LayerChoice?, EmbedFileOptions?, CancellationToken)"/>: runs on the thread pool.</summary>
    /// <param name="inputPath">The input file.</param>
    /// <param name="outputPath">The HDF5 file to write.</param>
    /// <param name="layers">What to write; null for all layers.</param>
    /// <param name="options">Batch size, input format and keys; null for the defaults.</param>
    /// <param name="cancellationToken">Stops between batches; no output is left behind.</param>
    /// <returns>The final progress.</returns>
    public Task<EmbedProgress> EmbedFileAsync(string inputPath, string outputPath, LayerChoice? layers = null, EmbedFileOptions? options = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => EmbedFile(inputPath, outputPath, layers, options, cancellationToken), cancellationToken);

    /// <summary>Whether a stream may reorder sentences into batches: not when states carry over, nor when a result depends on its batch.</summary>
    private bool MaySort(LayerChoice layers) => Mode != StateMode.Stateful && !layers.DependsOnBatch && SortWindowBatches > 1;

    private IEnumerable<SentenceEmbedding> Stream(IEnumerable<IReadOnlyList<string>> sentences, int batchSize, LayerChoice layers, ScalarMix? mix, CancellationToken cancellationToken)
    {
        foreach (var window in Windows(sentences, MaySort(layers) ? batchSize * SortWindowBatches : batchSize))
        {
            var results = RunWindow(window, batchSize, layers, mix, cancellationToken);
            for (int i = 0; i < results.Length; i++) yield return Take(results, i);
        }
    }

    private async IAsyncEnumerable<SentenceEmbedding> StreamAsync(IEnumerable<IReadOnlyList<string>> sentences, int batchSize, LayerChoice layers, ScalarMix? mix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var window in Windows(sentences, MaySort(layers) ? batchSize * SortWindowBatches : batchSize))
        {
            var results = await Task.Run(() => RunWindow(window, batchSize, layers, mix, cancellationToken), cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < results.Length; i++) yield return Take(results, i);
        }
    }

    private async IAsyncEnumerable<SentenceEmbedding> StreamAsync(IAsyncEnumerable<IReadOnlyList<string>> sentences, int batchSize, LayerChoice layers, ScalarMix? mix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var window in Windows(sentences, MaySort(layers) ? batchSize * SortWindowBatches : batchSize, cancellationToken).ConfigureAwait(false))
        {
            var results = await Task.Run(() => RunWindow(window, batchSize, layers, mix, cancellationToken), cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < results.Length; i++) yield return Take(results, i);
        }
    }

    /// <summary>Hands out one result and forgets it, so that the stream keeps no result its caller has taken.</summary>
    private static SentenceEmbedding Take(SentenceEmbedding[] results, int i)
    {
        var result = results[i];
        results[i] = null!;
        return result;
    }

    /// <summary>The input cut into windows of <paramref name="size"/> numbered sentences (the last may be shorter); one list, refilled.</summary>
    private static IEnumerable<List<(long Index, IReadOnlyList<string> Tokens)>> Windows(IEnumerable<IReadOnlyList<string>> sentences, int size)
    {
        var window = new List<(long, IReadOnlyList<string>)>(size);
        long index = 0;
        foreach (var sentence in sentences)
        {
            window.Add((index, sentence ?? throw new ElmoInputException($"Sentence {index} of the stream is null.")));
            index++;
            if (window.Count < size) continue;
            yield return window;
            window.Clear();
        }
        if (window.Count > 0) yield return window;
    }

    /// <summary>Asynchronous <see cref="Windows(IEnumerable{IReadOnlyList{string}}, int)"/>.</summary>
    private static async IAsyncEnumerable<List<(long Index, IReadOnlyList<string> Tokens)>> Windows(IAsyncEnumerable<IReadOnlyList<string>> sentences, int size, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var window = new List<(long, IReadOnlyList<string>)>(size);
        long index = 0;
        await foreach (var sentence in sentences.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            window.Add((index, sentence ?? throw new ElmoInputException($"Sentence {index} of the stream is null.")));
            index++;
            if (window.Count < size) continue;
            yield return window;
            window.Clear();
        }
        if (window.Count > 0) yield return window;
    }

    /// <summary>Runs one window: sorted by length when allowed, in batches; returns the results in input order.</summary>
    private SentenceEmbedding[] RunWindow(List<(long Index, IReadOnlyList<string> Tokens)> pending, int batchSize, LayerChoice layers, ScalarMix? mix, CancellationToken cancellationToken)
    {
        var results = new SentenceEmbedding[pending.Count];
        if (pending.Count == 0) return results;
        long first = pending[0].Index;
        var order = MaySort(layers) ? pending.OrderBy(p => p.Tokens.Count).ToList() : pending;
        int batches = (order.Count + batchSize - 1) / batchSize;
        var plan = Mode == StateMode.Stateful ? new BatchParallelism(1, Sessions.ThreadsPerSession) : BatchParallelism.Choose(Sessions.ThreadsPerSession, batches, ParallelBatches);
        if (plan.Workers == 1)
        {
            for (int start = 0; start < order.Count; start += batchSize)
            {
                RunBatch(order.GetRange(start, Math.Min(batchSize, order.Count - start)), threads: null);
            }
            return results;
        }

        // Batches side by side, each on its own pooled session with its share of the threads; every result goes to
        // its own slot, so the order in which batches finish does not matter.
        int next = -1;
        try
        {
            Parallel.For(0, plan.Workers, new ParallelOptions { MaxDegreeOfParallelism = plan.Workers }, (_, loop) =>
            {
                int b;
                while (!loop.ShouldExitCurrentIteration && (b = Interlocked.Increment(ref next)) < batches)
                {
                    int start = b * batchSize;
                    RunBatch(order.GetRange(start, Math.Min(batchSize, order.Count - start)), plan.ThreadsPerWorker);
                }
            });
        }
        catch (AggregateException e)
        {
            // As one batch at a time would: the error itself (a bad mix, the cancellation), not a wrapper.
            var cause = e.InnerExceptions.FirstOrDefault(x => x is not OperationCanceledException) ?? e.InnerExceptions[0];
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(cause).Throw();
        }
        return results;

        void RunBatch(List<(long Index, IReadOnlyList<string> Tokens)> batch, int? threads)
        {
            cancellationToken.ThrowIfCancellationRequested();
            SentenceEmbedding[] done;
            using (var lease = Sessions.Rent(cancellationToken))
            {
                var session = lease.Pooled.Session;
                int own = session.Threads;
                if (threads is int t) session.Threads = Math.Min(own, t);
                try
                {
                    done = Run(lease.Pooled, batch, layers, mix);
                }
                finally
                {
                    session.Threads = own;
                }
            }
            foreach (var result in done) results[result.Index - first] = result;
            CollectIfDue();
        }
    }

    /// <summary>A full, non-compacting collection once the process has allocated <see cref="CollectAfterBytes"/> since the last one a stream asked for (one thread asks; the others go on).</summary>
    private void CollectIfDue()
    {
        if (CollectAfterBytes is not long budget) return;
        long last = Interlocked.Read(ref _allocatedAtCollection), now = GC.GetTotalAllocatedBytes();
        if (now - last < budget || Interlocked.CompareExchange(ref _allocatedAtCollection, now, last) != last) return;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
    }

    private static List<(long Index, IReadOnlyList<string> Tokens)> Number(IReadOnlyList<IReadOnlyList<string>> sentences, long first)
    {
        var batch = new List<(long, IReadOnlyList<string>)>(sentences.Count);
        for (int i = 0; i < sentences.Count; i++)
        {
            batch.Add((first + i, sentences[i] ?? throw new ElmoInputException($"Sentence {i} of the batch is null.")));
        }
        return batch;
    }

    /// <summary>
    /// Runs one batch on a pooled session and cuts each row out of the padded output, boundaries removed, exactly as
    /// <see cref="CorpusEmbedder"/> writes it: the layers as they are, the top one, <see cref="CorpusEmbedder.AverageLayers"/>,
    /// or the mix over the whole padded batch.
    /// </summary>
    private static SentenceEmbedding[] Run(ElmoSessionPool.Pooled pooled, List<(long Index, IReadOnlyList<string> Tokens)> batch, LayerChoice layers, ScalarMix? mix)
    {
        // (layers, batch, T, D) with boundaries, in the session's reused output array.
        var output = pooled.Session.Run(batch.ConvertAll(p => p.Tokens), pooled.OutputBuffer);
        if (output.Layers.Length > (pooled.OutputBuffer?.Length ?? 0)) pooled.OutputBuffer = output.Layers;
        int layerCount = output.LayerCount, rows = output.BatchSize, t = output.Timesteps, d = output.Dim;
        int layerStride = rows * t * d;

        // (batch, T, D): the mix over every position with boundaries (the layer-norm statistics include them).
        Span<float> mixed = default;
        if (mix is not null)
        {
            if ((pooled.MixBuffer?.Length ?? 0) < layerStride) pooled.MixBuffer = new float[layerStride];
            mixed = pooled.MixBuffer.AsSpan(0, layerStride);
            mix.Mix(output.Layers.AsSpan(0, (int)output.ValueCount), output.Mask, d, mixed);
        }

        var results = new SentenceEmbedding[rows];
        for (int b = 0; b < rows; b++)
        {
            int n = output.Lengths[b] - 2, first = (b * t + 1) * d;
            float[] values;
            switch (layers.Layout)
            {
                case OutputLayout.All:
                    // (layers, n, D): each layer's row without its boundaries.
                    values = new float[layerCount * n * d];
                    for (int l = 0; l < layerCount; l++) output.Layers.AsSpan(l * layerStride + first, n * d).CopyTo(values.AsSpan(l * n * d));
                    break;
                case OutputLayout.Top:
                    values = output.Layers.AsSpan((layerCount - 1) * layerStride + first, n * d).ToArray();
                    break;
                case OutputLayout.Average:
                    values = new float[n * d];
                    CorpusEmbedder.AverageLayers(output, b, values);
                    break;
                default:
                    values = mixed.Slice(first, n * d).ToArray();
                    break;
            }
            bool all = layers.Layout == OutputLayout.All;
            results[b] = new SentenceEmbedding(batch[b].Index, batch[b].Tokens, values, all ? layerCount : 1, n, d, all);
        }
        return results;
    }
}
