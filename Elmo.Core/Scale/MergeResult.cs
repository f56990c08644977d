namespace Elmo.Core;

/// <summary>What <see cref="PartMerger.Merge"/> did.</summary>
/// <param name="Parts">Parts merged.</param>
/// <param name="Sentences">Sentences (datasets) in the output.</param>
/// <param name="Bytes">The output's size.</param>
/// <param name="Elapsed">Time taken.</param>
public sealed record MergeResult(int Parts, long Sentences, long Bytes, TimeSpan Elapsed);
