namespace Elmo.Core;

/// <summary>One input sentence and where it came from.</summary>
/// <param name="LineNumber">1-based line number in the input.</param>
/// <param name="Text">The sentence as a key: the tokens joined by single spaces (AllenNLP's <c>sentence_to_index</c> key).</param>
/// <param name="Tokens">The tokens.</param>
public sealed record InputSentence(long LineNumber, string Text, IReadOnlyList<string> Tokens);
