namespace Elmo.Server;

/// <summary>How a server batches requests (part of <c>GET /v1/model</c>).</summary>
/// <param name="MaxBatchTokens">Tokens per batch at most.</param>
/// <param name="MaxBatchSentences">Sentences per batch at most.</param>
/// <param name="MaxWaitMs">Milliseconds a batch waits to fill.</param>
/// <param name="MaxQueuedRequests">Requests waiting at most (beyond: 503).</param>
/// <param name="MaxQueuedTokens">Tokens waiting at most (beyond: 503).</param>
/// <param name="Workers">Batches running at once.</param>
/// <param name="ThreadsPerBatch">Threads one batch uses.</param>
public sealed record BatchingInfo(int MaxBatchTokens, int MaxBatchSentences, double MaxWaitMs, int MaxQueuedRequests, int MaxQueuedTokens, int Workers, int ThreadsPerBatch);
