using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace Elmo.Core;

/// <summary>
/// The embedding loop of <see cref="CorpusEmbedder"/>'s second pass: collects sentences into windows, sorts a window
/// by length where results do not depend on batching, cuts it into batches of <see cref="EmbedSettings.BatchSize"/>,
/// runs each batch in groups of rows within <see cref="EmbedSettings.MaxBatchBytes"/>, and writes every row's values
/// straight from the group's output to its place in the file.
/// </summary>
/// <remarks>
/// Memory follows what is read, never the flags: the window grows with the sentences actually read, and the output
/// array is sized for the largest group run so far. Where the corpus's longest row fits, every group is laid out with
/// that many positions in one array reused by every batch and never cleared: rows being sorted by length, a batch's
/// positions fall on pages a later, longer batch touches anyway, so resident memory is about what the rows of the
/// longest batch cover (the forward pass writes only the rows' positions, and only those are written out).
/// With several sessions (<see cref="BatchParallelism"/>), the batches of a window run side by side, one per session,
/// each with its own output array; every sentence's values go to their fixed place in the file, so the file is the
/// same bytes whatever the number of sessions and the order in which batches finish.
/// </remarks>
internal sealed class BatchWriter
{
    private readonly Worker[] _workers;
    private readonly ElmoSession _session;
    private readonly Lock _lock = new();
    private readonly CorpusFileWriter _writer;
    private readonly EmbedSettings _settings;
    private readonly Action<EmbedProgress> _progress;
    private readonly CancellationToken _cancellation;
    private readonly List<Pending> _pending = [];
    private readonly long _window;
    private readonly bool _sort;
    private readonly bool _wholeBatches;
    private readonly int _sharedTimesteps;
    private readonly long _totalSentences;
    private readonly long _totalTokens;
    private readonly long _cap;
    private long _done;
    private long _tokens;
    private long _allocatedAtCollection;

    /// <summary>Sets up the loop for <paramref name="plan"/>.</summary>
    /// <param name="sessions">One session per batch run side by side (their mode decides sorting and row carry-over; a stateful run has one).</param>
    /// <param name="writer">The file.</param>
    /// <param name="settings">Batching, layout, mix.</param>
    /// <param name="plan">What pass 1 found.</param>
    /// <param name="progress">Called after each batch with sentences and tokens done.</param>
    /// <param name="cancellation">Checked before each group of rows.</param>
    public BatchWriter(IReadOnlyList<ElmoSession> sessions, CorpusFileWriter writer, EmbedSettings settings, CorpusPlan plan, Action<EmbedProgress> progress, CancellationToken cancellation)
    {
        var session = sessions[0];
        if (session.Mode == StateMode.Stateful && sessions.Count > 1) throw new ArgumentException("A stateful run has one session: its batches depend on each other.", nameof(sessions));
        _session = session;
        _workers = sessions.Select(s => new Worker(s)).ToArray();
        _writer = writer;
        _settings = settings;
        _progress = progress;
        _cancellation = cancellation;
        _totalSentences = plan.Count;
        _totalTokens = plan.Tokens;
        _cap = settings.MaxBatchBytes ?? long.MaxValue;
        // A layer-normalised mix normalises over its batch: results depend on which sentences share one, so batches are
        // input order and run whole. So are stateful batches, whose rows carry states (but they may run in groups of rows).
        bool layerNorm = settings.Layout == OutputLayout.Mix && settings.Mix!.LayerNorm;
        _sort = settings.SortByLength && session.Mode != StateMode.Stateful && !layerNorm;
        _wholeBatches = layerNorm;
        _window = _sort ? (long)settings.BatchSize * settings.SortWindowBatches : settings.BatchSize;

        var o = session.Model.Options;
        long rows = Math.Min(settings.BatchSize, plan.Count);
        long timesteps = plan.Longest + 2L;
        bool fits = rows > 0 && (long)o.OutputLayers * rows * timesteps * o.OutputDim <= Array.MaxLength && session.Estimate(rows, timesteps, rows * timesteps) <= _cap;
        _sharedTimesteps = fits ? (int)timesteps : 0;
    }

    /// <summary>Counts sentences an earlier, interrupted run embedded (for progress).</summary>
    /// <param name="sentences">Sentences done.</param>
    /// <param name="tokens">Their tokens.</param>
    public void Skip(long sentences, long tokens)
    {
        _done += sentences;
        _tokens += tokens;
    }

    /// <summary>Adds the next sentence of the file (in input order); embeds a window when it is full.</summary>
    /// <param name="local">Its position in the file.</param>
    /// <param name="sentence">The sentence.</param>
    /// <param name="dataOffset">Where its values go in the data region.</param>
    public void Add(long local, InputSentence sentence, long dataOffset)
    {
        _pending.Add(new Pending(local, sentence, dataOffset));
        if (_pending.Count >= _window) Flush();
    }

    /// <summary>Embeds what is pending.</summary>
    public void Flush()
    {
        if (_pending.Count == 0) return;
        var order = _sort ? [.. _pending.OrderBy(p => p.Sentence.Tokens.Count)] : _pending;
        var batches = new List<Pending[]>();
        for (int start = 0; start < order.Count; start += _settings.BatchSize)
        {
            int count = Math.Min(_settings.BatchSize, order.Count - start);
            batches.Add(CollectionsMarshal.AsSpan(order).Slice(start, count).ToArray());
        }
        _pending.Clear();
        int workers = Math.Min(_workers.Length, batches.Count);
        if (workers == 1)
        {
            foreach (var batch in batches) RunBatch(_workers[0], batch);
            return;
        }

        // Batches side by side: each worker takes the next batch of the window until none is left; the first error
        // (or the cancellation) stops the others at their next batch and is thrown as it was.
        int next = -1;
        ExceptionDispatchInfo? failure = null;
        var threads = new Thread[workers - 1];
        void Work(int w)
        {
            try
            {
                int i;
                while (Volatile.Read(ref failure) is null && (i = Interlocked.Increment(ref next)) < batches.Count) RunBatch(_workers[w], batches[i]);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
            }
        }
        for (int w = 1; w < workers; w++)
        {
            int index = w;
            threads[w - 1] = new Thread(() => Work(index)) { IsBackground = true, Name = "elmo-batch" };
            threads[w - 1].Start();
        }
        Work(0);
        foreach (var thread in threads) thread.Join();
        failure?.Throw();
    }

    private void RunBatch(Worker worker, Pending[] batch)
    {
        int o = 0;
        long tokens = 0;
        while (o < batch.Length)
        {
            _cancellation.ThrowIfCancellationRequested();
            int end = _wholeBatches ? batch.Length : GroupEnd(batch, o);
            var group = batch[o..end];
            var sentences = group.Select(p => p.Sentence.Tokens).ToArray();
            var output = worker.Session.Run(sentences, OutputBuffer(worker, group), _sharedTimesteps, firstRow: o);
            float[]? mixed = null;
            if (_settings.Layout == OutputLayout.Mix)
            {
                int values = output.BatchSize * output.Timesteps * output.Dim;
                if (worker.Mixed is null || worker.Mixed.Length < values) worker.Mixed = new float[values];
                mixed = worker.Mixed;
                _settings.Mix!.Mix(output.Layers.AsSpan(0, (int)output.ValueCount), output.Mask, output.Dim, mixed.AsSpan(0, values));
                CorpusEmbedder.CheckFinite(_settings.Mix, mixed.AsSpan(0, values));
            }
            for (int b = 0; b < group.Length; b++)
            {
                Write(worker, group[b].DataOffset, output, b, mixed);
                tokens += group[b].Sentence.Tokens.Count;
            }
            o = end;
        }
        lock (_lock)
        {
            _done += batch.Length;
            _tokens += tokens;
            // The GC's budget grows with the weights (hundreds of MB of large arrays), so during a run it would rarely
            // collect, and every batch's temporaries would stay resident. A full collection after every few MB allocated
            // lets batches reuse each other's memory; the heap holds nothing per sentence, so each costs the same
            // whatever the corpus size, and their number follows the work done.
            if (CorpusEmbedder.CollectionDue(ref _allocatedAtCollection)) GC.Collect();
            _progress(new EmbedProgress(_done, _totalSentences, _tokens, default, _totalTokens));
        }
    }

    /// <summary>One past the last row of the group starting at <paramref name="start"/>: rows are added while the group's working memory stays within the cap.</summary>
    private int GroupEnd(Pending[] batch, int start)
    {
        long rows = 0, positions = 0, longest = 0;
        int end = start;
        while (end < batch.Length)
        {
            long n = batch[end].Sentence.Tokens.Count + 2L;
            long t = _sharedTimesteps > 0 ? _sharedTimesteps : Math.Max(longest, n);
            long values = (long)_session.Model.Options.OutputLayers * (rows + 1) * t * _session.Model.Options.OutputDim;
            if (end > start && (values > Array.MaxLength || _session.Estimate(rows + 1, t, positions + n) > _cap)) break;
            rows++;
            positions += n;
            longest = t;
            end++;
        }
        return end;
    }

    /// <summary>The worker's output array, grown to hold the group (its pages are touched only where rows are written).</summary>
    private float[]? OutputBuffer(Worker worker, Pending[] group)
    {
        var o = _session.Model.Options;
        long timesteps = _sharedTimesteps > 0 ? _sharedTimesteps : group.Max(p => p.Sentence.Tokens.Count) + 2L;
        long values = (long)o.OutputLayers * group.Length * timesteps * o.OutputDim;
        if (values > Array.MaxLength) return null;
        if (_sharedTimesteps > 0) values = (long)o.OutputLayers * Math.Min(_settings.BatchSize, _totalSentences) * timesteps * o.OutputDim;
        if (worker.Output is null || worker.Output.Length < values) worker.Output = new float[values];
        return worker.Output;
    }

    /// <summary>Writes row <paramref name="row"/>'s values (boundaries left out) from the padded output or its mix: the values and their order are those of <see cref="CorpusEmbedder.Shape"/>.</summary>
    private void Write(Worker worker, long dataOffset, BiLmOutput output, int row, float[]? mixed)
    {
        int layers = output.LayerCount, d = output.Dim, skip = output.IncludesBoundaries ? 1 : 0;
        int n = output.Lengths[row] - 2 * skip;
        if (n == 0) return;
        int values = n * d;
        long layerStride = (long)output.BatchSize * output.Timesteps * d;
        long first = ((long)row * output.Timesteps + skip) * d;
        switch (_settings.Layout)
        {
            case OutputLayout.All:
                for (int l = 0; l < layers; l++)
                {
                    _writer.WriteValues(dataOffset + (long)l * values * sizeof(float), output.Layers.AsSpan((int)(first + l * layerStride), values));
                }
                break;
            case OutputLayout.Top:
                _writer.WriteValues(dataOffset, output.Layers.AsSpan((int)(first + (layers - 1) * layerStride), values));
                break;
            case OutputLayout.Average:
                if (worker.Average is null || worker.Average.Length < values) worker.Average = new float[values];
                CorpusEmbedder.AverageLayers(output, row, worker.Average.AsSpan(0, values));
                _writer.WriteValues(dataOffset, worker.Average.AsSpan(0, values));
                break;
            default:
                _writer.WriteValues(dataOffset, mixed.AsSpan((int)first, values));
                break;
        }
    }

    private readonly record struct Pending(long Local, InputSentence Sentence, long DataOffset);

    /// <summary>A session and the arrays it reuses from batch to batch.</summary>
    private sealed class Worker(ElmoSession session)
    {
        public ElmoSession Session { get; } = session;

        public float[]? Output { get; set; }

        public float[]? Mixed { get; set; }

        public float[]? Average { get; set; }
    }
}
