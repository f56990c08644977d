namespace Elmo.Server;

/// <summary>
/// What one <c>POST /v1/embed</c> may hold; a request beyond any limit is answered 413 (the body) or 400 (its
/// contents) with a problem body naming the field. Immutable; checked at start-up (<see cref="Validate"/>).
/// </summary>
public sealed record RequestLimits
{
    /// <summary>Bytes of the request body (default 4 MiB).</summary>
    public int MaxBodyBytes { get; init; } = 4 << 20;

    /// <summary>Sentences (or texts) per request (default 512).</summary>
    public int MaxSentences { get; init; } = 512;

    /// <summary>Tokens per sentence (default 1,024).</summary>
    public int MaxTokensPerSentence { get; init; } = 1024;

    /// <summary>Tokens per request, all sentences together (default 16,384).</summary>
    public int MaxRequestTokens { get; init; } = 16_384;

    /// <summary>
    /// Characters (UTF-16 code units) per token (default 256; the model reads at most its
    /// <c>max_characters_per_token</c> − 2 UTF-8 bytes of a token anyway).
    /// </summary>
    public int MaxTokenCharacters { get; init; } = 256;

    /// <summary>Checks every value.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit below 1.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBodyBytes, 1, nameof(MaxBodyBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSentences, 1, nameof(MaxSentences));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTokensPerSentence, 1, nameof(MaxTokensPerSentence));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRequestTokens, 1, nameof(MaxRequestTokens));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTokenCharacters, 1, nameof(MaxTokenCharacters));
    }
}
