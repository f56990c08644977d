namespace Elmo.Core;

/// <summary>Progress of a bulk embedding run.</summary>
/// <param name="Sentences">Sentences embedded so far.</param>
/// <param name="TotalSentences">Sentences in the input.</param>
/// <param name="Tokens">Tokens embedded so far.</param>
/// <param name="Elapsed">Time since the start of the run (the first pass over the input included).</param>
/// <param name="TotalTokens">Tokens in the input.</param>
public readonly record struct EmbedProgress(long Sentences, long TotalSentences, long Tokens, TimeSpan Elapsed, long TotalTokens = 0)
{
    /// <summary>In the final report of a resumable run: sentences an interrupted run had done (not embedded again).</summary>
    public long ResumedSentences { get; init; }

    /// <summary>In the final report of a resumable run: the tokens of <see cref="ResumedSentences"/>.</summary>
    public long ResumedTokens { get; init; }

    /// <summary>In the final report of a resumable run: checkpoints taken.</summary>
    public int Checkpoints { get; init; }
}
