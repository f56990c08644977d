namespace Elmo.Core;

/// <summary>A snapshot of an <see cref="EmbeddingBatcher"/>'s queue and counters since it started.</summary>
/// <param name="QueuedRequests">Requests with sentences not yet taken into a batch.</param>
/// <param name="QueuedSentences">Sentences not yet taken into a batch.</param>
/// <param name="QueuedTokens">Their tokens.</param>
/// <param name="RunningBatches">Batches running now.</param>
/// <param name="Batches">Batches run.</param>
/// <param name="Sentences">Sentences embedded.</param>
/// <param name="Tokens">Tokens embedded.</param>
/// <param name="Completed">Requests answered.</param>
/// <param name="Rejected">Requests refused because the queue was full.</param>
/// <param name="Cancelled">Requests cancelled by their caller before they were answered.</param>
/// <param name="Failed">Requests that got an error from the engine.</param>
public sealed record BatcherStatistics(
    int QueuedRequests, int QueuedSentences, long QueuedTokens, int RunningBatches,
    long Batches, long Sentences, long Tokens, long Completed, long Rejected, long Cancelled, long Failed);
