namespace Elmo.Core;

/// <summary>
/// An <see cref="EmbeddingBatcher"/> refused a request because its queue holds <see cref="BatcherOptions.MaxQueuedRequests"/>
/// requests or would exceed <see cref="BatcherOptions.MaxQueuedTokens"/> tokens: the caller should retry later
/// (a server answers 503 with <c>Retry-After</c>). Nothing of the request was queued.
/// </summary>
public sealed class QueueFullException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is full.</param>
    /// <param name="retryAfter">About how long the queued work takes at the recent speed.</param>
    public QueueFullException(string message, TimeSpan retryAfter) : base(message)
    {
        RetryAfter = retryAfter;
    }

    /// <summary>About how long the work already queued takes at the recent speed (at least one second).</summary>
    public TimeSpan RetryAfter { get; }
}
