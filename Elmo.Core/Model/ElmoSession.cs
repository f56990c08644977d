namespace Elmo.Core;

/// <summary>
/// One caller's run state over a shared <see cref="ElmoModel"/>: scratch buffers and, in
/// <see cref="StateMode.Stateful"/> mode, the carried-over LSTM states. Not thread-safe: use one session
/// per thread (concurrent calls on one session are refused with <see cref="InvalidOperationException"/>).
/// </summary>
public sealed class ElmoSession
{
    private readonly Scratch _scratch = new();
    private LstmState? _carried;
    private int _busy;

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

    /// <summary>Maximum threads one call uses.</summary>
    public int Threads { get; }

    /// <summary>The carried-over states (stateful mode; null before the first batch or after <see cref="Reset"/>). A copy.</summary>
    public LstmState? CarriedState => _carried?.Clone();

    /// <summary>When set, the forward pass adds the wall time of each of its stages here (for benchmarks).</summary>
    public StageTimings? Timings { get; set; }

    /// <summary>Bytes of scratch this session holds.</summary>
    public long ScratchBytes => _scratch.SizeInBytes;

    /// <summary>Token vectors that replace the char CNN for the tokens they hold (set by <see cref="ElmoModule"/>; results are unchanged).</summary>
    internal TokenVectorCache? TokenCache { get; set; }

    /// <summary>Forgets the carried-over states (stateful mode): the next batch starts from zero.</summary>
    public void Reset() => _carried = null;

    /// <summary>Runs the biLM on tokenised sentences.</summary>
    /// <param name="sentences">Sentences as lists of tokens; an empty list is an empty sentence.</param>
    /// <returns>All layers with boundaries; call <see cref="BiLmOutput.WithoutBoundaries"/> for AllenNLP's <c>Elmo</c> view.</returns>
    /// <exception cref="ElmoInputException">A sentence is null.</exception>
    public BiLmOutput Run(IReadOnlyList<IReadOnlyList<string>> sentences)
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

        var ids = new int[total * chars];
        int pos = 0;
        for (int b = 0; b < sentences.Count; b++)
        {
            mapper.BeginningOfSentence.CopyTo(ids.AsSpan(pos++ * chars));
            foreach (var token in sentences[b]) mapper.Map(token, ids.AsSpan(pos++ * chars, chars));
            mapper.EndOfSentence.CopyTo(ids.AsSpan(pos++ * chars));
        }
        return Run(ids, lengths);
    }

    /// <summary>
    /// Runs the biLM on a character-id tensor as AllenNLP's <c>_ElmoBiLm</c> does: positions whose ids are all
    /// zero are padding; <c>&lt;S&gt;</c> and <c>&lt;/S&gt;</c> are added around each row's tokens.
    /// </summary>
    /// <param name="characterIds">Ids from <see cref="CharacterMapper.BatchToIds"/> (or equivalent).</param>
    /// <returns>All layers with boundaries.</returns>
    /// <exception cref="ElmoInputException">The tensor has the wrong number of characters per token, an id out of range, or a token after padding.</exception>
    public BiLmOutput Run(CharacterIds characterIds)
    {
        ArgumentNullException.ThrowIfNull(characterIds);
        var mapper = Model.Mapper;
        int chars = mapper.MaxCharactersPerToken;
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
        return Run(ids, lengths);
    }

    private BiLmOutput Run(int[] ids, int[] lengths)
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            throw new InvalidOperationException("This ElmoSession is already running a batch on another thread; create one session per thread (the model itself is shared freely).");
        }
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
                    for (int b = 0; b < Math.Min(batch, _carried.Rows); b++) state.CopyRow(b, _carried, b);
                    break;
            }

            var output = BiLm.Forward(Model.Weights, ids, lengths, state, _scratch, Threads, TokenCache, Timings);

            if (Mode == StateMode.Stateful && batch > 0)
            {
                _carried = Carry(_carried, state);
            }
            return output;
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>AllenNLP's <c>_EncoderBase._update_states</c>.</summary>
    private static LstmState Carry(LstmState? old, LstmState fresh)
    {
        if (old is null) return fresh;
        var o = fresh.Options;
        int rows = Math.Max(old.Rows, fresh.Rows);
        var next = new LstmState(o, rows);
        for (int r = 0; r < old.Rows; r++) next.CopyRow(r, old, r);

        // A row takes its new state unless that state's layer-0 values (both directions) sum to exactly 0,
        // checked separately for h and c; then the stored value is new + old, as in AllenNLP.
        for (int r = 0; r < fresh.Rows; r++)
        {
            Update(next.Hidden, fresh.Hidden, r, o.ProjectionDim, r < old.Rows);
            Update(next.Cell, fresh.Cell, r, o.CellDim, r < old.Rows);
        }
        return next;
    }

    private static void Update(float[][] stored, float[][] fresh, int row, int width, bool hadOld)
    {
        float sum = 0f;
        for (int dir = 0; dir < 2; dir++)
        {
            foreach (float v in fresh[dir].AsSpan(row * width, width)) sum += v;
        }
        bool used = sum != 0f;
        for (int i = 0; i < stored.Length; i++)
        {
            var dst = stored[i].AsSpan(row * width, width);
            var src = fresh[i].AsSpan(row * width, width);
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
