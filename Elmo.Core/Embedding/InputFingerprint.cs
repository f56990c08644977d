using System.Globalization;

namespace Elmo.Core;

/// <summary>
/// The fingerprint of one reading of an input: its size and the 128-bit SipHash of its bytes (for a file, every
/// byte as read, before decoding; for sentences in memory, their texts and tokens). Two readings of an unchanged
/// input give the same fingerprint; parts of a split run and an interrupted run's checkpoints record it.
/// </summary>
internal sealed class InputFingerprint
{
    private SipHash128 _hash = SipHash128.Create();

    /// <summary>Bytes read.</summary>
    public long Bytes => _hash.Length;

    /// <summary>The hash of everything read so far, as 32 hex digits.</summary>
    public string Hash => _hash.Finish().ToString("x32", CultureInfo.InvariantCulture);

    /// <summary>Adds bytes read.</summary>
    /// <param name="data">The bytes.</param>
    public void Append(ReadOnlySpan<byte> data) => _hash.Append(data);

    /// <summary>Adds a sentence held in memory: its text and each token, each after its length.</summary>
    /// <param name="sentence">The sentence.</param>
    public void Append(InputSentence sentence)
    {
        _hash.Append(sentence.Text);
        _hash.Append(sentence.Tokens.Count);
        foreach (var token in sentence.Tokens) _hash.Append(token ?? "");
    }

    /// <summary>Size and hash, e.g. <c>1234 bytes, siphash128 0123…</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Bytes} bytes, siphash128 {Hash}");
}
