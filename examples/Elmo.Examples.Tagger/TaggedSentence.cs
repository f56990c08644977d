namespace Elmo.Examples.Tagger;

/// <summary>A sentence and the tag of each of its tokens.</summary>
/// <param name="Tokens">The tokens.</param>
/// <param name="Tags">One tag per token (indexes into <see cref="TaggedCorpus.TagNames"/>).</param>
/// <param name="Ambiguous">Per token: whether its word can take more than one tag (its context decides).</param>
public sealed record TaggedSentence(string[] Tokens, int[] Tags, bool[] Ambiguous);
