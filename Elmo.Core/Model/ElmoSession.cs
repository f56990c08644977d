namespace Elmo.Core;

/// <summary>
/// One caller's run state over a shared <see cref="ElmoModel"/>: scratch buffers and, in
/// <see cref="StateMode.Stateful"/> mode, the carried-over LSTM states. Not thread-safe: use one session
/// per thread (concurrent calls on one session are refused with <see cref="InvalidOperationException"/>).
/// </summary>
public sealed class ElmoSession
{
    /// <summary>The default of <see cref="MaxBatchBytes"/>: 1 GiB.</summary>
    public const long DefaultMaxBatchBytes = 1L << 30;

    private readonly Scratch _scratch = new();
    private LstmState? _carried;
    private int _busy;
    private long? _maxBatchBytes = DefaultMaxBatchBytes;

    internal ElmoSession(ElmoModel model, StateMode mode, LstmState? warmState, int threads)
    {
        Model = model;
        Mode = mode;
        Threads = threads;
        if (mode == StateMode.Warm)
        {
            ArgumentNullException.ThrowIfNull(warmState);
            if (warmState.Rows != 1) throw new ArgumentException($"A warm state has one row, this one has {warmState.Rows}.", nameof(warmState));
            if (warmState.Options != model.Options.Lstm) throw new ArgumentException("The warm state belongs to a different architecture.", nameof(warmState));
            WarmState = warmState.Clone();
        }
    }

    /// <summary>The model this session runs.</summary>
    public ElmoModel Model { get; }

    /// <summary>How states carry over between batches.</summary>
    public StateMode Mode { get; }

    /// <summary>The state every sentence starts from in <see cref="StateMode.Warm"/> mode.</summary>
    public LstmState? WarmState { get; }

    /// <summary>Maximum threads one call uses (a pool lowers it while batches run side by side on several sessions).</summary>
    public int Threads { get; internal set; }

    /// <summary>The carried-over states (stateful mode; null before the first batch or after <see cref="Reset"/>). A copy.</summary>
    public LstmState? CarriedState => _carried?.Clone();

    /// <summary>
    /// Cap on the working memory of one forward pass, in bytes (null: no cap). A batch whose estimate
    /// (<see cref="EstimateBatchBytes"/>: padded output layers plus per-position scratch) exceeds it is run in
    /// groups of rows, longest first, each within the cap, and the results are put back together. Rows are
    /// independent in every <see cref="Mode"/> (stateful carry-over is per row), so the result is bitwise the
    /// same as without the cap. A single row above the cap runs alone. The returned output itself, which has
    /// the size the caller asked for, is not counted.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    public long? MaxBatchBytes
    {
        get => _maxBatchBytes;
        set
        {
            if (value is <= 0) throw new ArgumentOutOfRangeException(nameof(value), value, "MaxBatchBytes must be positive, or null for no cap.");
            _maxBatchBytes = value;
        }
    }

    /// <summary>True while a batch is running (tests use it to overlap calls on purpose).</summary>
    internal bool IsRunning => Volatile.Read(ref _busy) != 0;

    /// <summary>How many groups of rows the last batch was run in (1 unless <see cref="MaxBatchBytes"/> split it).</summary>
    internal int LastGroupCount { get; private set; }

    /// <summary>When set, the forward pass adds the wall time of each of its stages here (for benchmarks).</summary>
    public StageTimings? Timings { get; set; }

    /// <summary>Bytes of scratch this session holds.</summary>
    public long ScratchBytes => _scratch.SizeInBytes;

    /// <summary>Token vectors that replace the char CNN for the tokens they hold (set by <see cref="ElmoModule"/>; results are unchanged).</summary>
    internal TokenVectorCache? TokenCache { get; set; }

    /// <summary>Carries <paramref name="state"/> over into the next batch, as if the batches that left it had just run (a resumed stateful run).</summary>
    /// <param name="state">The states a checkpoint saved (<see cref="CarriedState"/>), or null for none.</param>
    /// <exception cref="InvalidOperationException">The session is not stateful, or is running a batch on another thread.</exception>
    internal void RestoreCarried(LstmState? state)
    {
        if (Mode != StateMode.Stateful) throw new InvalidOperationException("Only a stateful session carries states over.");
        if (state is not null && state.Options != Model.Options.Lstm) throw new ArgumentException("The state belongs to a different architecture.", nameof(state));
        Enter();
        try
        {
            _carried = state?.Clone();
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Forgets the carried-over states (stateful mode): the next batch starts from zero.</summary>
    /// <exception cref="InvalidOperationException">The session is running a batch on another thread.</exception>
    public void Reset()
    {
        Enter();
        try
        {
            _carried = null;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Runs the biLM on tokenised sentences.</summary>
    /// <param name="sentences">Sentences as lists of tokens; an empty list is an empty sentence.</param>
    /// <returns>All layers with boundaries; call <see cref="BiLmOutput.WithoutBoundaries"/> for AllenNLP's <c>Elmo</c> view.</returns>
    /// <exception cref="ElmoInputException">A sentence is null, or the batch is too large for one call (its output would not fit in one array).</exception>
    /// <exception cref="InvalidOperationException">The session is already running a batch on another thread (use one session per thread).</exception>
    public BiLmOutput Run(IReadOnlyList<IReadOnlyList<string>> sentences) => Run(sentences, outputBuffer: null);

    /// <summary>
    /// <see cref="Run(IReadOnlyList{IReadOnlyList{string}})"/>, with the layers written into
    /// <paramref name="outputBuffer"/> when it is long enough: the result's <see cref="BiLmOutput.Layers"/> is then
    /// that array (its first <see cref="BiLmOutput.ValueCount"/> values are the output, and its padded positions
    /// are not zeroed but hold whatever an earlier batch left) and is overwritten by the next call given the same
    /// buffer. For callers that consume each output's rows before the next batch (<see cref="CorpusEmbedder"/>);
    /// never hand such an output to a user. <paramref name="timesteps"/> pads every row to at least that many
    /// positions, so that batches of different lengths share one row layout in the buffer.
    /// </summary>
    /// <remarks>
    /// In <see cref="StateMode.Stateful"/> mode, <paramref name="firstRow"/> says which carried rows these sentences are:
    /// a batch run as several groups of consecutive rows (to bound memory) carries exactly the states it would carry
    /// run whole, since rows are independent.
    /// </remarks>
    internal BiLmOutput Run(IReadOnlyList<IReadOnlyList<string>> sentences, float[]? outputBuffer, int timesteps = 0, int firstRow = 0)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        var mapper = Model.Mapper;
        int chars = mapper.MaxCharactersPerToken;
        var lengths = new int[sentences.Count];
        long total = 0;
        for (int b = 0; b < sentences.Count; b++)
        {
            var s = sentences[b] ?? throw new ElmoInputException($"Sentence {b} of the batch is null.");
            lengths[b] = s.Count + 2;
            total += lengths[b];
        }
        CheckSize(lengths, total);

        var ids = new int[total * chars];
        int pos = 0;
        for (int b = 0; b < sentences.Count; b++)
        {
            mapper.BeginningOfSentence.CopyTo(ids.AsSpan(pos++ * chars));
            foreach (var token in sentences[b]) mapper.Map(token, ids.AsSpan(pos++ * chars, chars));
            mapper.EndOfSentence.CopyTo(ids.AsSpan(pos++ * chars));
        }
        return Run(ids, lengths, outputBuffer, timesteps, firstRow);
    }

    /// <summary>
    /// Runs the biLM on a character-id tensor as AllenNLP's <c>_ElmoBiLm</c> does: positions whose ids are all
    /// zero are padding; <c>&lt;S&gt;</c> and <c>&lt;/S&gt;</c> are added around each row's tokens.
    /// </summary>
    /// <param name="characterIds">Ids from <see cref="CharacterMapper.BatchToIds"/> (or equivalent).</param>
    /// <returns>All layers with boundaries.</returns>
    /// <exception cref="ElmoInputException">The shape does not match the ids, the tensor has the wrong number of characters per token, an id out of range, a token after padding, or is too large for one call.</exception>
    /// <exception cref="InvalidOperationException">The session is already running a batch on another thread (use one session per thread).</exception>
    public BiLmOutput Run(CharacterIds characterIds)
    {
        ArgumentNullException.ThrowIfNull(characterIds);
        var mapper = Model.Mapper;
        int chars = mapper.MaxCharactersPerToken;
        if (characterIds.Ids is null || characterIds.Batch < 0 || characterIds.Tokens < 0
            || characterIds.Ids.LongLength != (long)characterIds.Batch * characterIds.Tokens * characterIds.Characters)
        {
            throw new ElmoInputException($"Character ids: the shape ({characterIds.Batch}, {characterIds.Tokens}, {characterIds.Characters}) does not match the {characterIds.Ids?.Length ?? 0} ids given.");
        }
        if (characterIds.Characters != chars)
        {
            throw new ElmoInputException($"Character ids have {characterIds.Characters} characters per token; the model expects {chars}.");
        }

        var lengths = new int[characterIds.Batch];
        long total = 0;
        for (int b = 0; b < characterIds.Batch; b++)
        {
            int n = 0;
            while (n < characterIds.Tokens && characterIds.IsToken(b, n)) n++;
            for (int t = n; t < characterIds.Tokens; t++)
            {
                if (characterIds.IsToken(b, t)) throw new ElmoInputException($"Character ids: row {b} has a token at position {t} after padding at position {n}; tokens must come first.");
            }
            lengths[b] = n + 2;
            total += lengths[b];
        }

        CheckSize(lengths, total);

        int maxId = Model.Weights.CharEmbedding.Length / Model.Options.CharCnn.EmbeddingDim - 1;
        var ids = new int[total * chars];
        int pos = 0;
        for (int b = 0; b < characterIds.Batch; b++)
        {
            mapper.BeginningOfSentence.CopyTo(ids.AsSpan(pos++ * chars));
            for (int t = 0; t < lengths[b] - 2; t++)
            {
                var token = characterIds.Token(b, t);
                foreach (int id in token)
                {
                    if (id < 0 || id > maxId) throw new ElmoInputException($"Character ids: row {b}, position {t} holds id {id}, outside 0…{maxId}.");
                }
                token.CopyTo(ids.AsSpan(pos++ * chars, chars));
            }
            mapper.EndOfSentence.CopyTo(ids.AsSpan(pos++ * chars));
        }
        return Run(ids, lengths, outputBuffer: null, timesteps: 0, firstRow: 0);
    }

    private BiLmOutput Run(int[] ids, int[] lengths, float[]? outputBuffer, int timesteps, int firstRow)
    {
        Enter();
        try
        {
            int batch = lengths.Length;
            var options = Model.Options.Lstm;
            var state = new LstmState(options, batch);
            switch (Mode)
            {
                case StateMode.Warm:
                    for (int b = 0; b < batch; b++) state.CopyRow(b, WarmState!, 0);
                    break;
                case StateMode.Stateful when _carried is not null:
                    // Rows beyond the stored ones start at zero; stored rows beyond this batch are kept.
                    for (int b = 0; b < Math.Min(batch, _carried.Rows - firstRow); b++) state.CopyRow(b, _carried, firstRow + b);
                    break;
            }

            var output = Forward(ids, lengths, state, outputBuffer, timesteps);

            if (Mode == StateMode.Stateful && batch > 0)
            {
                _carried = Carry(_carried, state, firstRow);
            }
            return output;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Claims the session for the calling thread, or refuses: a session is never used by two threads at once.</summary>
    private void Enter()
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            throw new InvalidOperationException("This ElmoSession is already running a batch on another thread; create one session per thread (the model itself is shared freely).");
        }
    }

    private void Exit() => Volatile.Write(ref _busy, 0);

    /// <summary>
    /// The working memory, in bytes, that one forward pass over rows of these lengths needs (an estimate, the
    /// quantity <see cref="MaxBatchBytes"/> caps): the padded output layers, per position the character ids,
    /// token vectors, both directions' layer inputs and outputs, CNN features and highway gates, and per row
    /// the LSTM states and one step's gates. Buffers of a fixed size (the LSTM's input-projection blocks and
    /// first-layer token table, a few MiB per direction) are not counted.
    /// </summary>
    /// <param name="tokenCounts">Tokens of each sentence (without the boundaries, which this adds).</param>
    /// <returns>Estimated bytes.</returns>
    public long EstimateBatchBytes(IReadOnlyList<int> tokenCounts)
    {
        ArgumentNullException.ThrowIfNull(tokenCounts);
        long positions = 0;
        int longest = 0;
        foreach (int n in tokenCounts)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(n, nameof(tokenCounts));
            positions += n + 2L;
            longest = Math.Max(longest, n + 2);
        }
        return Estimate(tokenCounts.Count, longest, positions);
    }

    /// <summary>The working memory of one forward pass over <paramref name="rows"/> rows padded to <paramref name="timesteps"/> positions, <paramref name="positions"/> in all (boundaries included).</summary>
    internal long Estimate(long rows, long timesteps, long positions)
    {
        var o = Model.Options;
        long p = o.Lstm.ProjectionDim, c = o.Lstm.CellDim, f = o.CharCnn.FilterCount, chars = o.CharCnn.MaxCharactersPerToken;
        long perPosition = 2 * chars + 1 + 5 * p + 3 * f;
        // The LSTM states, and both directions' gates of one step (the first layer assembles them per row).
        long perRow = 4L * o.Lstm.Layers * (p + c) + 2 * 4 * c;
        return 4 * ((long)o.OutputLayers * rows * timesteps * o.OutputDim + positions * perPosition + rows * perRow);
    }

    /// <summary>Runs the batch in one piece, or in groups of rows within <see cref="MaxBatchBytes"/>.</summary>
    private BiLmOutput Forward(int[] ids, int[] lengths, LstmState state, float[]? outputBuffer, int minTimesteps)
    {
        var o = Model.Options;
        int batch = lengths.Length, longest = batch == 0 ? 0 : lengths.Max();
        int outputTimesteps = batch == 0 ? 0 : Math.Max(longest, minTimesteps);
        long outputValues = (long)o.OutputLayers * batch * outputTimesteps * o.OutputDim;
        long total = lengths.Sum(n => (long)n);
        if (_maxBatchBytes is not { } cap || Estimate(batch, longest, total) <= cap)
        {
            LastGroupCount = 1;
            return BiLm.Forward(Model.Weights, ids, lengths, state, _scratch, Threads, TokenCache, Timings, outputBuffer, minTimesteps);
        }

        // Groups of rows, longest first (stable): each group's padding is set by its first row.
        int chars = o.CharCnn.MaxCharactersPerToken, d = o.OutputDim, layerCount = o.OutputLayers;
        var offsets = new long[batch];
        for (int b = 1; b < batch; b++) offsets[b] = offsets[b - 1] + lengths[b - 1];
        var order = Enumerable.Range(0, batch).OrderByDescending(b => lengths[b]).ToArray();
        var layers = BiLmOutput.Allocate(outputValues, outputBuffer);
        int groups = 0;
        for (int start = 0; start < batch;)
        {
            int timesteps = lengths[order[start]];
            int end = start + 1;
            long positions = timesteps;
            while (end < batch && Estimate(end + 1 - start, timesteps, positions + lengths[order[end]]) <= cap)
            {
                positions += lengths[order[end]];
                end++;
            }

            // Gather the group's ids and initial states, run it, scatter its states and layers back.
            int rows = end - start;
            var groupLengths = new int[rows];
            var groupIds = new int[positions * chars];
            var groupState = new LstmState(o.Lstm, rows);
            long at = 0;
            for (int i = 0; i < rows; i++)
            {
                int b = order[start + i];
                groupLengths[i] = lengths[b];
                ids.AsSpan((int)(offsets[b] * chars), lengths[b] * chars).CopyTo(groupIds.AsSpan((int)(at * chars)));
                at += lengths[b];
                groupState.CopyRow(i, state, b);
            }
            var part = BiLm.Forward(Model.Weights, groupIds, groupLengths, groupState, _scratch, Threads, TokenCache, Timings);
            for (int i = 0; i < rows; i++)
            {
                int b = order[start + i];
                state.CopyRow(b, groupState, i);
                for (int l = 0; l < layerCount; l++)
                {
                    part.Layers.AsSpan((int)((((long)l * rows + i) * part.Timesteps) * d), lengths[b] * d)
                        .CopyTo(layers.AsSpan((int)((((long)l * batch + b) * outputTimesteps) * d)));
                }
            }
            groups++;
            start = end;
        }

        LastGroupCount = groups;
        var mask = new byte[batch * outputTimesteps];
        for (int b = 0; b < batch; b++) mask.AsSpan(b * outputTimesteps, lengths[b]).Fill(1);
        return new BiLmOutput(layers, mask, (int[])lengths.Clone(), layerCount, batch, outputTimesteps, d, includesBoundaries: true);
    }

    /// <summary>Refuses a batch whose character ids or output could not be held in one array.</summary>
    private void CheckSize(int[] lengths, long total)
    {
        var o = Model.Options;
        int batch = lengths.Length, longest = batch == 0 ? 0 : lengths.Max();
        long outputValues = (long)o.OutputLayers * batch * longest * o.OutputDim;
        long idValues = total * o.CharCnn.MaxCharactersPerToken;
        if (outputValues > Array.MaxLength || idValues > Array.MaxLength)
        {
            throw new ElmoInputException($"The batch of {batch} sentences (the longest has {longest - 2} tokens, {total - 2L * batch} tokens in all) is too large for one call: its output would hold {outputValues} values and its character ids {idValues}, more than one array can hold ({Array.MaxLength}). Pass fewer or shorter sentences per call.");
        }
    }

    /// <summary>AllenNLP's <c>_EncoderBase._update_states</c>.</summary>
    /// <remarks>The fresh rows are carried rows <paramref name="firstRow"/> onwards.</remarks>
    private static LstmState Carry(LstmState? old, LstmState fresh, int firstRow)
    {
        if (old is null && firstRow == 0) return fresh;
        var o = fresh.Options;
        int oldRows = old?.Rows ?? 0;
        int rows = Math.Max(oldRows, firstRow + fresh.Rows);
        var next = new LstmState(o, rows);
        for (int r = 0; r < oldRows; r++) next.CopyRow(r, old!, r);

        // A row takes its new state unless that state's layer-0 values (both directions) sum to exactly 0,
        // checked separately for h and c; then the stored value is new + old, as in AllenNLP.
        for (int r = 0; r < fresh.Rows; r++)
        {
            Update(next.Hidden, fresh.Hidden, firstRow + r, r, o.ProjectionDim, firstRow + r < oldRows);
            Update(next.Cell, fresh.Cell, firstRow + r, r, o.CellDim, firstRow + r < oldRows);
        }
        return next;
    }

    private static void Update(float[][] stored, float[][] fresh, int row, int freshRow, int width, bool hadOld)
    {
        float sum = 0f;
        for (int dir = 0; dir < 2; dir++)
        {
            foreach (float v in fresh[dir].AsSpan(freshRow * width, width)) sum += v;
        }
        bool used = sum != 0f;
        for (int i = 0; i < stored.Length; i++)
        {
            var dst = stored[i].AsSpan(row * width, width);
            var src = fresh[i].AsSpan(freshRow * width, width);
            if (used || !hadOld)
            {
                src.CopyTo(dst);
            }
            else
            {
                for (int k = 0; k < width; k++) dst[k] = src[k] + dst[k];
            }
        }
    }
}
