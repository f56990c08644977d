namespace Elmo.Core;

/// <summary>
/// A batch of character ids, <c>(Batch, Tokens, Characters)</c> row-major, as AllenNLP's
/// <c>batch_to_ids</c> returns: ids are shifted by +1 and 0 marks a position that holds no token.
/// </summary>
/// <param name="Ids">The ids, row-major.</param>
/// <param name="Batch">Number of sentences.</param>
/// <param name="Tokens">Positions per sentence (the longest sentence).</param>
/// <param name="Characters">Ids per token.</param>
public sealed record CharacterIds(int[] Ids, int Batch, int Tokens, int Characters)
{
    /// <summary>The ids of token <paramref name="token"/> of sentence <paramref name="sentence"/>.</summary>
    /// <param name="sentence">Batch row.</param>
    /// <param name="token">Position in the row.</param>
    /// <returns>The <see cref="Characters"/> ids of that position.</returns>
    public ReadOnlySpan<int> Token(int sentence, int token) => Ids.AsSpan(((sentence * Tokens) + token) * Characters, Characters);

    /// <summary>True when the position holds a token: any of its ids is non-zero (AllenNLP's mask).</summary>
    /// <param name="sentence">Batch row.</param>
    /// <param name="token">Position in the row.</param>
    /// <returns>Whether the position is a token.</returns>
    public bool IsToken(int sentence, int token) => Token(sentence, token).ContainsAnyExcept(0);
}
