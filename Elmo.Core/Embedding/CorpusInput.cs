namespace Elmo.Core;

/// <summary>
/// A re-readable source of sentences for <see cref="CorpusEmbedder"/>, which reads its input twice (a first pass
/// counts sentences and tokens and checks every line, a second embeds) so that memory stays bounded whatever
/// the size of the input.
/// </summary>
public sealed class CorpusInput
{
    private readonly Func<InputFingerprint?, IEnumerable<InputSentence>> _read;

    private CorpusInput(string name, Func<InputFingerprint?, IEnumerable<InputSentence>> read)
    {
        Name = name;
        _read = read;
    }

    /// <summary>The name used in messages (the file name, or "standard input").</summary>
    public string Name { get; }

    /// <summary>A text or JSON-lines file, read afresh on every pass.</summary>
    /// <param name="path">The file.</param>
    /// <param name="format">Its format; null to choose by extension (<see cref="InputReader.FormatOf"/>).</param>
    /// <param name="skipBlank">Skip blank lines instead of failing.</param>
    /// <param name="name">Name used in messages (default: <paramref name="path"/>).</param>
    /// <returns>The input.</returns>
    /// <exception cref="ElmoInputException">The file does not exist or is a directory.</exception>
    public static CorpusInput FromFile(string path, InputFormat? format = null, bool skipBlank = false, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        string display = name ?? path;
        if (!File.Exists(path))
        {
            throw new ElmoInputException(System.IO.Directory.Exists(path) ? $"Input '{display}' is a directory." : $"Input file '{display}' does not exist.") { FilePath = path };
        }
        var fmt = format ?? InputReader.FormatOf(path);
        return new CorpusInput(display, fingerprint => ReadFile(path, fmt, display, skipBlank, fingerprint)) { Format = fmt, SkipBlank = skipBlank };
    }

    /// <summary>Sentences already in memory.</summary>
    /// <param name="sentences">The sentences, in order.</param>
    /// <param name="name">Name used in messages.</param>
    /// <returns>The input.</returns>
    public static CorpusInput FromSentences(IReadOnlyList<InputSentence> sentences, string name = "sentences")
    {
        ArgumentNullException.ThrowIfNull(sentences);
        return new CorpusInput(name, fingerprint => fingerprint is null ? sentences : Fingerprinted(sentences, fingerprint));
    }

    /// <summary>Tokenised sentences in memory; each key is the tokens joined by single spaces.</summary>
    /// <param name="sentences">The sentences, in order.</param>
    /// <param name="name">Name used in messages.</param>
    /// <returns>The input.</returns>
    public static CorpusInput FromTokens(IReadOnlyList<IReadOnlyList<string>> sentences, string name = "sentences")
    {
        ArgumentNullException.ThrowIfNull(sentences);
        var read = sentences.Select((s, i) => new InputSentence(i + 1, string.Join(' ', s ?? throw new ElmoInputException($"Sentence {i} is null.")), s));
        return new CorpusInput(name, fingerprint => fingerprint is null ? read : Fingerprinted(read, fingerprint));
    }

    /// <summary>The format of a file input (null for sentences in memory).</summary>
    public InputFormat? Format { get; private init; }

    /// <summary>Whether blank lines of a file input are skipped.</summary>
    public bool SkipBlank { get; private init; }

    /// <summary>Reads the sentences once more, from the start.</summary>
    /// <returns>The sentences in input order.</returns>
    public IEnumerable<InputSentence> Read() => _read(null);

    /// <summary>Reads the sentences once more, adding what is read to <paramref name="fingerprint"/>.</summary>
    /// <param name="fingerprint">Receives the bytes of a file, or the texts and tokens of sentences in memory.</param>
    /// <returns>The sentences in input order.</returns>
    internal IEnumerable<InputSentence> Read(InputFingerprint fingerprint) => _read(fingerprint);

    private static IEnumerable<InputSentence> ReadFile(string path, InputFormat format, string name, bool skipBlank, InputFingerprint? fingerprint)
    {
        Stream stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        if (fingerprint is not null) stream = new HashingStream(stream, fingerprint);
        using var reader = new StreamReader(stream, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        foreach (var s in InputReader.Read(reader, format, name, skipBlank)) yield return s;
    }

    private static IEnumerable<InputSentence> Fingerprinted(IEnumerable<InputSentence> sentences, InputFingerprint fingerprint)
    {
        foreach (var s in sentences)
        {
            fingerprint.Append(s);
            yield return s;
        }
    }
}
