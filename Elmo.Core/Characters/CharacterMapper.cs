using System.Text;

namespace Elmo.Core;

/// <summary>
/// Maps tokens to character ids exactly like AllenNLP's <c>ELMoCharacterMapper</c> and <c>batch_to_ids</c>:
/// the token's UTF-8 bytes (cut to <c>max − 2</c>) between begin-of-word (258) and end-of-word (259),
/// the rest padding (260), every id then shifted by +1 so that 0 means "no token". Thread-safe.
/// </summary>
public sealed class CharacterMapper
{
    /// <summary>Character id of the beginning-of-sentence marker (before the +1 shift).</summary>
    public const int BeginningOfSentenceCharacter = 256;

    /// <summary>Character id of the end-of-sentence marker (before the +1 shift).</summary>
    public const int EndOfSentenceCharacter = 257;

    /// <summary>Begin-of-word id (before the +1 shift).</summary>
    public const int BeginningOfWordCharacter = 258;

    /// <summary>End-of-word id (before the +1 shift).</summary>
    public const int EndOfWordCharacter = 259;

    /// <summary>Padding id inside a token (before the +1 shift).</summary>
    public const int PaddingCharacter = 260;

    /// <summary>The sentence-start token added by the model.</summary>
    public const string BeginningOfSentenceToken = "<S>";

    /// <summary>The sentence-end token added by the model.</summary>
    public const string EndOfSentenceToken = "</S>";

    // Python's encode("utf-8", "ignore"): lone surrogates are dropped, not replaced.
    private static readonly Encoding Utf8Ignore = Encoding.GetEncoding("utf-8", new EncoderReplacementFallback(string.Empty), DecoderFallback.ExceptionFallback);

    /// <summary>Tokens longer than this (in UTF-16 units) are encoded chunk by chunk, only as far as the cut.</summary>
    private const int LongToken = 256;

    private readonly IReadOnlyDictionary<string, int> _tokensToAdd;
    private readonly int[] _bos;
    private readonly int[] _eos;

    /// <summary>Creates a mapper.</summary>
    /// <param name="maxCharactersPerToken">Ids per token, including begin/end-of-word (50 in every published model).</param>
    /// <param name="tokensToAdd">Optional extra tokens with fixed character ids (AllenNLP's <c>tokens_to_add</c>): such a token maps to <c>[BOW, id, EOW, pad…]</c>.</param>
    public CharacterMapper(int maxCharactersPerToken = 50, IReadOnlyDictionary<string, int>? tokensToAdd = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCharactersPerToken, 3);
        MaxCharactersPerToken = maxCharactersPerToken;
        _tokensToAdd = tokensToAdd ?? new Dictionary<string, int>();
        foreach (var (token, id) in _tokensToAdd)
        {
            if (id < 0 || id > PaddingCharacter)
            {
                throw new ArgumentOutOfRangeException(nameof(tokensToAdd), id, $"Character id of added token '{token}' must be in 0…{PaddingCharacter}.");
            }
        }
        _bos = Marker(BeginningOfSentenceCharacter);
        _eos = Marker(EndOfSentenceCharacter);
    }

    /// <summary>Ids per token, including begin/end-of-word.</summary>
    public int MaxCharactersPerToken { get; }

    /// <summary>The ids (after the +1 shift) of the <c>&lt;S&gt;</c> token.</summary>
    public ReadOnlySpan<int> BeginningOfSentence => _bos;

    /// <summary>The ids (after the +1 shift) of the <c>&lt;/S&gt;</c> token.</summary>
    public ReadOnlySpan<int> EndOfSentence => _eos;

    /// <summary>Writes the ids (after the +1 shift) of <paramref name="token"/> into <paramref name="destination"/>.</summary>
    /// <param name="token">The token; null is treated as the empty token.</param>
    /// <param name="destination">At least <see cref="MaxCharactersPerToken"/> ids.</param>
    public void Map(string? token, Span<int> destination)
    {
        int max = MaxCharactersPerToken;
        if (destination.Length < max) throw new ArgumentException($"Destination holds {destination.Length} ids, needs {max}.", nameof(destination));
        token ??= string.Empty;
        var d = destination[..max];
        if (_tokensToAdd.TryGetValue(token, out int fixedId))
        {
            // Added tokens take precedence over <S> and </S>, as in AllenNLP.
            d.Fill(PaddingCharacter + 1);
            d[0] = BeginningOfWordCharacter + 1;
            d[1] = fixedId + 1;
            d[2] = EndOfWordCharacter + 1;
            return;
        }
        if (token == BeginningOfSentenceToken)
        {
            _bos.CopyTo(destination);
            return;
        }
        if (token == EndOfSentenceToken)
        {
            _eos.CopyTo(destination);
            return;
        }

        d.Fill(PaddingCharacter + 1);
        d[0] = BeginningOfWordCharacter + 1;

        int limit = max - 2;
        int n;
        if (token.Length <= LongToken)
        {
            int byteCount = Utf8Ignore.GetByteCount(token);
            Span<byte> bytes = stackalloc byte[byteCount];
            Utf8Ignore.GetBytes(token, bytes);
            n = Math.Min(limit, byteCount);
            for (int k = 0; k < n; k++) d[k + 1] = bytes[k] + 1;
        }
        else
        {
            n = EncodePrefix(token, limit, d[1..]);
        }
        d[n + 1] = EndOfWordCharacter + 1;
    }

    /// <summary>The ids (after the +1 shift) of one token.</summary>
    /// <param name="token">The token.</param>
    /// <returns>A new array of <see cref="MaxCharactersPerToken"/> ids.</returns>
    public int[] Map(string? token)
    {
        var ids = new int[MaxCharactersPerToken];
        Map(token, ids);
        return ids;
    }

    /// <summary>
    /// AllenNLP's <c>batch_to_ids</c>: a <c>(batch, max_tokens, max_characters)</c> id tensor, row-major,
    /// zero where a sentence has no token. Boundaries are not added (the model adds them).
    /// </summary>
    /// <param name="sentences">Tokenised sentences.</param>
    /// <returns>The ids and the shape.</returns>
    public CharacterIds BatchToIds(IReadOnlyList<IReadOnlyList<string>> sentences)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        int batch = sentences.Count;
        int t = 0;
        for (int b = 0; b < batch; b++)
        {
            t = Math.Max(t, (sentences[b] ?? throw new ArgumentException($"Sentence {b} is null.", nameof(sentences))).Count);
        }
        int max = MaxCharactersPerToken;
        var ids = new int[(long)batch * t * max];
        for (int b = 0; b < batch; b++)
        {
            var s = sentences[b];
            for (int i = 0; i < s.Count; i++)
            {
                Map(s[i], ids.AsSpan(((b * t) + i) * max, max));
            }
        }
        return new CharacterIds(ids, batch, t, max);
    }

    /// <summary>
    /// Encodes a long token chunk by chunk and stops once <paramref name="limit"/> bytes are known, so that a
    /// token of any length costs a bounded amount of memory. The encoder carries a high surrogate across
    /// chunk boundaries, so the bytes are exactly those of encoding the whole token.
    /// </summary>
    /// <returns>The number of ids written (at most <paramref name="limit"/>).</returns>
    private static int EncodePrefix(string token, int limit, Span<int> destination)
    {
        var encoder = Utf8Ignore.GetEncoder();
        int capacity = limit + Utf8Ignore.GetMaxByteCount(LongToken);
        Span<byte> bytes = capacity <= 8192 ? stackalloc byte[capacity] : new byte[capacity];
        int n = 0;
        for (int i = 0; i < token.Length && n < limit; i += LongToken)
        {
            var chunk = token.AsSpan(i, Math.Min(LongToken, token.Length - i));
            n += encoder.GetBytes(chunk, bytes[n..], flush: i + chunk.Length == token.Length);
        }
        n = Math.Min(n, limit);
        for (int k = 0; k < n; k++) destination[k] = bytes[k] + 1;
        return n;
    }

    private int[] Marker(int character)
    {
        var ids = new int[MaxCharactersPerToken];
        ids.AsSpan().Fill(PaddingCharacter + 1);
        ids[0] = BeginningOfWordCharacter + 1;
        ids[1] = character + 1;
        ids[2] = EndOfWordCharacter + 1;
        return ids;
    }
}
