namespace Elmo.Core;

/// <summary>
/// How an <see cref="EmbeddingBatcher"/> forms batches and bounds its queue. Immutable; checked when the batcher is
/// made (<see cref="Validate"/>).
/// </summary>
public sealed record BatcherOptions
{
    /// <summary>The default <see cref="MaxBatchTokens"/>.</summary>
    public const int DefaultMaxBatchTokens = 4096;

    /// <summary>The default <see cref="MaxBatchSentences"/> (the batch size of <c>elmo embed</c>).</summary>
    public const int DefaultMaxBatchSentences = ElmoEmbedder.DefaultBatchSize;

    /// <summary>The default <see cref="MaxQueuedTokens"/>.</summary>
    public const int DefaultMaxQueuedTokens = 1 << 16;

    /// <summary>The default <see cref="MaxQueuedRequests"/>.</summary>
    public const int DefaultMaxQueuedRequests = 1024;

    /// <summary>The default <see cref="MaxWait"/>: 2 ms.</summary>
    public static readonly TimeSpan DefaultMaxWait = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// Tokens (without the <c>&lt;S&gt;</c>/<c>&lt;/S&gt;</c> boundaries) that one batch takes at most; a sentence
    /// longer than this runs alone. Requests are split between batches at sentence boundaries.
    /// </summary>
    public int MaxBatchTokens { get; init; } = DefaultMaxBatchTokens;

    /// <summary>Sentences one batch takes at most.</summary>
    public int MaxBatchSentences { get; init; } = DefaultMaxBatchSentences;

    /// <summary>
    /// How long a free worker waits, from the arrival of the oldest waiting request, for more sentences before it runs
    /// a batch that is below both budgets. Zero runs at once.
    /// </summary>
    public TimeSpan MaxWait { get; init; } = DefaultMaxWait;

    /// <summary>Tokens waiting (not yet taken into a batch) beyond which a new request is refused with <see cref="QueueFullException"/>.</summary>
    public int MaxQueuedTokens { get; init; } = DefaultMaxQueuedTokens;

    /// <summary>Requests waiting beyond which a new request is refused with <see cref="QueueFullException"/>.</summary>
    public int MaxQueuedRequests { get; init; } = DefaultMaxQueuedRequests;

    /// <summary>
    /// Batches that run at once, each on its own session of the embedder's pool (default 1: one batch uses every
    /// thread of its session, and a second one would only compete for the same cores).
    /// </summary>
    public int Workers { get; init; } = 1;

    /// <summary>Checks every value.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count below 1, or a negative or over-long wait.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBatchTokens, 1, nameof(MaxBatchTokens));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBatchSentences, 1, nameof(MaxBatchSentences));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueuedTokens, 1, nameof(MaxQueuedTokens));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueuedRequests, 1, nameof(MaxQueuedRequests));
        ArgumentOutOfRangeException.ThrowIfLessThan(Workers, 1, nameof(Workers));
        if (MaxWait < TimeSpan.Zero || MaxWait > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(MaxWait), MaxWait, "MaxWait must be between 0 and 10 s.");
        }
    }
}
