namespace Elmo.Core;

/// <summary>One batch an <see cref="EmbeddingBatcher"/> ran (for metrics).</summary>
/// <param name="Sentences">Sentences in the batch.</param>
/// <param name="Tokens">Their tokens (without boundaries).</param>
/// <param name="Requests">Requests that had sentences in it.</param>
/// <param name="Elapsed">The forward pass and the cutting of each sentence's result.</param>
/// <param name="Failed">Whether the batch failed (its requests got the error).</param>
public sealed record BatchReport(int Sentences, int Tokens, int Requests, TimeSpan Elapsed, bool Failed);
