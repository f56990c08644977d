namespace Elmo.Core;

/// <summary>Progress of a bulk embedding run.</summary>
/// <param name="Sentences">Sentences embedded so far.</param>
/// <param name="TotalSentences">Sentences in the input.</param>
/// <param name="Tokens">Tokens embedded so far.</param>
/// <param name="Elapsed">Time since the start of the run (the first pass over the input included).</param>
/// <param name="TotalTokens">Tokens in the input.</param>
public readonly record struct EmbedProgress(long Sentences, long TotalSentences, long Tokens, TimeSpan Elapsed, long TotalTokens = 0);
