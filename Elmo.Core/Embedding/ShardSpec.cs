using System.Globalization;

namespace Elmo.Core;

/// <summary>
/// Part <see cref="Index"/> of <see cref="Count"/> of a split run: the input is cut into <see cref="Count"/> contiguous
/// parts balanced by token count (each sentence counted with its two boundary tokens, which the biLM runs too), a pure
/// function of the input and <see cref="Count"/>, so any part can be computed, or recomputed, alone.
/// </summary>
/// <param name="Index">1-based part number, 1 … <paramref name="Count"/>.</param>
/// <param name="Count">Parts, at least 1.</param>
public sealed record ShardSpec(int Index, int Count)
{
    /// <summary>The most parts a run can be split into.</summary>
    public const int MaxCount = 1_000_000;

    /// <summary>The part a sentence falls in, given the weight of the sentences before it.</summary>
    /// <param name="weightBefore">Tokens of the sentences before it, two boundary tokens counted per sentence.</param>
    /// <param name="totalWeight">The same over the whole input.</param>
    /// <param name="count">Parts.</param>
    /// <returns>1 … <paramref name="count"/>.</returns>
    internal static int PartOf(long weightBefore, long totalWeight, int count) =>
        (int)((Int128)weightBefore * count / totalWeight) + 1;

    /// <summary>Checks the numbers.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not 1 ≤ Index ≤ Count ≤ <see cref="MaxCount"/>.</exception>
    public void Validate()
    {
        if (Count < 1 || Count > MaxCount || Index < 1 || Index > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(Index), this, $"A shard is K/N with 1 <= K <= N <= {MaxCount}.");
        }
    }

    /// <summary><c>K/N</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");
}
