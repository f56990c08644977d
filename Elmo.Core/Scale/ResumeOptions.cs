namespace Elmo.Core;

/// <summary>
/// A resumable run (<c>elmo embed --resume</c>): the output is built in a working file next to it, and a checkpoint
/// records, every <see cref="Sentences"/> sentences or <see cref="Interval"/> of work (whichever comes first), how
/// much of it is done and safely on disk. A run killed at any moment loses at most the work since its last
/// checkpoint; the next resumable run of the same command continues from there and ends with the same bytes.
/// </summary>
public sealed record ResumeOptions
{
    /// <summary>The default <see cref="Sentences"/>.</summary>
    public const int DefaultSentences = 1000;

    /// <summary>The default <see cref="Interval"/>.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(30);

    /// <summary>At most this many sentences between two checkpoints. Default 1,000.</summary>
    public int Sentences { get; init; } = DefaultSentences;

    /// <summary>At most about this much work between two checkpoints (checked between sentences). Default 30 s.</summary>
    public TimeSpan Interval { get; init; } = DefaultInterval;
}
