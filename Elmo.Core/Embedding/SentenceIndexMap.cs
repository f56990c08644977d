using System.Globalization;

namespace Elmo.Core;

/// <summary>
/// What <c>sentence_to_index</c> needs, without holding the sentences: per distinct sentence a 128-bit hash of its
/// UTF-16 text (so a lone surrogate and U+FFFD stay different keys, as in Python) and the index of its last occurrence
/// (a repeated sentence maps to its last key, as AllenNLP's dict did) with two flags, in a <see cref="HashIndex"/>
/// (32–64 bytes per distinct sentence). The JSON is streamed in a second pass over the input, in order of first
/// occurrence, exactly as Python's <c>json.dumps</c> writes the dict.
/// </summary>
/// <remarks>
/// For a part of a split run (sentences <c>[first, end)</c> of the input), only the sentences of the part are
/// entered; a later occurrence anywhere after the part still moves a sentence's key (<see cref="SeenAfter"/>), and
/// one before the part means the entry belongs to an earlier part (<see cref="SeenBefore"/>). The parts' JSON bodies
/// then concatenate into the whole map.
/// </remarks>
internal sealed class SentenceIndexMap
{
    private const long NotHere = 1L << 62;
    private const long Emitted = 1L << 61;
    private const long IndexMask = Emitted - 1;

    private readonly HashIndex _entries = new();
    private long _bodyBytes;
    private long _written;

    /// <summary>Entries this file writes.</summary>
    public long EntryCount { get; private set; }

    /// <summary>The JSON's length: <c>{</c>, entries separated by <c>", "</c>, <c>}</c>.</summary>
    public long JsonBytes => 2 + _bodyBytes + 2 * Math.Max(0, EntryCount - 1);

    /// <summary>Enters sentence <paramref name="index"/> (in input order).</summary>
    /// <param name="text">Its text (its key).</param>
    /// <param name="index">Its index.</param>
    public void Add(string text, long index)
    {
        var hash = SipHash128.Hash(text.AsSpan());
        if (_entries.TryGetValue(hash, out long value))
        {
            long last = value & IndexMask;
            if ((value & NotHere) == 0) _bodyBytes += DecimalNames.Digits(index) - DecimalNames.Digits(last);
            _entries.Set(hash, (value & ~IndexMask) | index);
            return;
        }
        _entries.Set(hash, index);
        EntryCount++;
        _bodyBytes += EntryBytes(text, index);
    }

    /// <summary>A sentence after this part: if it is one of the part's, its key moves to <paramref name="index"/>.</summary>
    /// <param name="text">Its text.</param>
    /// <param name="index">Its index in the whole input.</param>
    public void SeenAfter(string text, long index)
    {
        var hash = SipHash128.Hash(text.AsSpan());
        if (_entries.TryGetValue(hash, out long value))
        {
            if ((value & NotHere) == 0) _bodyBytes += DecimalNames.Digits(index) - DecimalNames.Digits(value & IndexMask);
            _entries.Set(hash, (value & ~IndexMask) | index);
        }
    }

    /// <summary>A sentence before this part: if it is one of the part's, its entry belongs to an earlier part.</summary>
    /// <param name="text">Its text.</param>
    public void SeenBefore(string text)
    {
        var hash = SipHash128.Hash(text.AsSpan());
        if (_entries.TryGetValue(hash, out long value) && (value & NotHere) == 0)
        {
            _entries.Set(hash, value | NotHere);
            EntryCount--;
            _bodyBytes -= EntryBytes(text, value & IndexMask);
        }
    }

    /// <summary>
    /// In the second pass, the next sentence: its JSON entry (with the separator before it) when this is
    /// the sentence's first occurrence and the entry is this file's, else nothing.
    /// </summary>
    /// <param name="text">Its text.</param>
    /// <param name="writer">Receives the entry's ASCII bytes.</param>
    public void WriteEntry(string text, CorpusFileWriter writer) => Entry(text, writer);

    /// <summary>In a resumed run, a sentence whose entry an earlier run wrote: the map moves on as <see cref="WriteEntry"/> would.</summary>
    /// <param name="text">Its text.</param>
    /// <returns>The bytes the entry took (with its separator), 0 when it had none.</returns>
    public long SkipEntry(string text) => Entry(text, null);

    private long Entry(string text, CorpusFileWriter? writer)
    {
        var hash = SipHash128.Hash(text.AsSpan());
        if (!_entries.TryGetValue(hash, out long value) || (value & (NotHere | Emitted)) != 0) return 0;
        _entries.Set(hash, value | Emitted);
        long last = value & IndexMask;
        if (writer is null) return (_written++ == 0 ? 1 : 2) + EntryBytes(text, last);
        var bytes = new byte[(_written == 0 ? 1 : 2) + EntryBytes(text, last)];
        int at = 0;
        if (_written++ == 0)
        {
            bytes[at++] = (byte)'{';
        }
        else
        {
            bytes[at++] = (byte)',';
            bytes[at++] = (byte)' ';
        }
        at += PythonJson.WriteString(text, bytes.AsSpan(at));
        bytes[at++] = (byte)':';
        bytes[at++] = (byte)' ';
        bytes[at++] = (byte)'"';
        last.TryFormat(bytes.AsSpan(at), out int digits, default, CultureInfo.InvariantCulture);
        at += digits;
        bytes[at] = (byte)'"';
        writer.AppendJson(bytes);
        return bytes.Length;
    }

    /// <summary>Ends the JSON (opening it first when it has no entry).</summary>
    /// <param name="writer">Receives the bytes.</param>
    public void WriteEnd(CorpusFileWriter writer) => writer.AppendJson(_written == 0 ? "{}"u8 : "}"u8);

    /// <summary><c>"text": "index"</c>.</summary>
    private static long EntryBytes(string text, long index) => PythonJson.StringLength(text) + 4 + DecimalNames.Digits(index);
}
