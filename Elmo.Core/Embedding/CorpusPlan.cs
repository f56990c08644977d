namespace Elmo.Core;

/// <summary>
/// What the first pass over an input found, for the sentences one output file holds (all of them, or one part of a
/// split run): enough to lay the file out and to check the second pass, and nothing per sentence but what the
/// dataset names and <c>sentence_to_index</c> need.
/// </summary>
internal sealed class CorpusPlan
{
    /// <summary>Sentences in the whole input.</summary>
    public long InputSentences { get; init; }

    /// <summary>Tokens in the whole input.</summary>
    public long InputTokens { get; init; }

    /// <summary>The input's fingerprint (size and hash of what was read).</summary>
    public required InputFingerprint Fingerprint { get; init; }

    /// <summary>Index of the file's first sentence in the input.</summary>
    public long First { get; init; }

    /// <summary>Sentences in the file.</summary>
    public long Count { get; init; }

    /// <summary>One past the file's last sentence.</summary>
    public long End => First + Count;

    /// <summary>Tokens in the file.</summary>
    public long Tokens { get; init; }

    /// <summary>Tokens of the file's longest sentence.</summary>
    public int Longest { get; init; }

    /// <summary>Bytes of the file's values.</summary>
    public long DataBytes { get; init; }

    /// <summary>The dataset names with <see cref="EmbedSettings.UseSentenceKeys"/> (sorted), else null (names are indices).</summary>
    public SentenceKeys? Keys { get; init; }

    /// <summary>The <c>sentence_to_index</c> map, unless <see cref="EmbedSettings.ForgetSentences"/> or sentence keys.</summary>
    public SentenceIndexMap? Index { get; init; }
}
