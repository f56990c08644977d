namespace Elmo.Core;

/// <summary>Settings of a bulk embedding run (<c>elmo embed</c>).</summary>
public sealed record EmbedSettings
{
    /// <summary>What is written per sentence.</summary>
    public OutputLayout Layout { get; init; } = OutputLayout.All;

    /// <summary>The mix for <see cref="OutputLayout.Mix"/>.</summary>
    public ScalarMix? Mix { get; init; }

    /// <summary>Sentences per batch.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>
    /// How LSTM states start and carry over. Default <see cref="ElmoModel.DefaultStateMode"/>, warm: every sentence starts from the
    /// state after a warm-up text, so it enters the biLM after a sentence end as in training, and the results are
    /// deterministic (see docs/state-modes.md). <see cref="StateMode.Stateless"/> and <see cref="StateMode.Stateful"/>
    /// reproduce other systems' numbers.
    /// </summary>
    public StateMode Mode { get; init; } = ElmoModel.DefaultStateMode;

    /// <summary>The warm state for <see cref="StateMode.Warm"/>; null for the model's built-in one (<see cref="ElmoModel.WarmState"/>, from the warm-state cache when the model has a weight file).</summary>
    public LstmState? WarmState { get; init; }

    /// <summary>Threads of the whole run (default: all processors), shared between the batches that run side by side (<see cref="ParallelBatches"/>).</summary>
    public int? Threads { get; init; }

    /// <summary>
    /// Batches run side by side, each on its own session with an even share of <see cref="Threads"/>; null (the
    /// default) chooses from the thread count and the batches of a window (<see cref="BatchParallelism.Choose"/>:
    /// one batch on all threads up to 2 threads, else a batch per two threads). Each worker holds its own scratch and
    /// output (memory grows with it). The output is the same bytes whatever the value. Never more than one in
    /// <see cref="StateMode.Stateful"/> mode, whose batches depend on each other.
    /// </summary>
    public int? ParallelBatches { get; init; }

    /// <summary>Key datasets by sentence text instead of line index (duplicates are an error; no <c>sentence_to_index</c> is written, as in AllenNLP).</summary>
    public bool UseSentenceKeys { get; init; }

    /// <summary>Do not write the <c>sentence_to_index</c> map.</summary>
    public bool ForgetSentences { get; init; }

    /// <summary>
    /// Batch sentences of similar length together, within a window of <see cref="SortWindowBatches"/> batches, and
    /// write them back under their input keys. Stateless and warm results do not depend on batching, so only the speed
    /// changes; it is never done in <see cref="StateMode.Stateful"/> mode or for a layer-normalised mix, whose results
    /// depend on which sentences share a batch. Default true.
    /// </summary>
    public bool SortByLength { get; init; } = true;

    /// <summary>Batches per sorting window (memory holds one window of sentences). Default 16.</summary>
    public int SortWindowBatches { get; init; } = 16;

    /// <summary>
    /// Cap on the working memory of one forward pass, as <see cref="ElmoSession.MaxBatchBytes"/>: a batch whose output
    /// and scratch would exceed it runs in groups of rows, each within the cap (a single longer row runs alone), with
    /// the same results. Default <see cref="ElmoSession.DefaultMaxBatchBytes"/> (1 GiB); null for no cap. A
    /// layer-normalised mix normalises over its whole batch, so its batches keep their whole output.
    /// </summary>
    public long? MaxBatchBytes { get; init; } = ElmoSession.DefaultMaxBatchBytes;

    /// <summary>Embed only this part of the input and write a part file for <c>elmo merge</c> (null: the whole input).</summary>
    public ShardSpec? Shard { get; init; }

    /// <summary>
    /// Run resumably (null: not): build the output in a working file beside it with checkpoints, and continue from the
    /// checkpoint an interrupted run of the same command left (see <see cref="ResumeOptions"/>). A run that is not
    /// resumable refuses to start over such a checkpoint. Not for streamed outputs. In <see cref="StateMode.Stateful"/>
    /// mode (and with a layer-normalised mix) checkpoints fall between whole batches, and a stateful checkpoint also holds
    /// the states the batches carry, so the resumed run makes the same batches from the same states.
    /// </summary>
    public ResumeOptions? Resume { get; init; }
}
