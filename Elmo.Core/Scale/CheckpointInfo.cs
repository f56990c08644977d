namespace Elmo.Core;

/// <summary>
/// What an interrupted resumable run (<c>elmo embed --resume</c>) left beside its output: how far its last checkpoint
/// got, and the two files that hold it. Running the same command again with <c>--resume</c> continues from there;
/// deleting both files discards the work.
/// </summary>
/// <param name="Done">Sentences of the output done and on disk.</param>
/// <param name="Sentences">Sentences the output holds when finished.</param>
/// <param name="RecordPath">The checkpoint record (<c>.OUTPUT.elmo-checkpoint</c>).</param>
/// <param name="WorkingPath">The output being built (<c>.OUTPUT.elmo-partial</c>).</param>
public sealed record CheckpointInfo(long Done, long Sentences, string RecordPath, string WorkingPath)
{
    /// <summary>The checkpoint an interrupted resumable run of <paramref name="outputPath"/> left, or null when there is none.</summary>
    /// <param name="outputPath">OUTPUT.</param>
    /// <returns>The checkpoint, or null.</returns>
    public static CheckpointInfo? Find(string outputPath)
    {
        ArgumentNullException.ThrowIfNull(outputPath);
        return Checkpoint.Find(outputPath);
    }
}
