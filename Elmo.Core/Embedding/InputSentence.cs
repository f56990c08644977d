namespace Elmo.Core;

/// <summary>One input sentence and where it came from.</summary>
/// <param name="LineNumber">1-based line number in the input (0 when the sentence did not come from a file).</param>
/// <param name="Text">The sentence as a key in <c>sentence_to_index</c> and for <c>--use-sentence-keys</c>: a text line
/// stripped of surrounding white space (as AllenNLP's <c>elmo</c> command keys it), or a JSON line's tokens joined by single spaces.</param>
/// <param name="Tokens">The tokens.</param>
public sealed record InputSentence(long LineNumber, string Text, IReadOnlyList<string> Tokens);
