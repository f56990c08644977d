namespace Elmo.Core;

/// <summary>
/// A re-readable source of sentences for <see cref="CorpusEmbedder"/>, which reads its input twice (a first pass
/// counts sentences and tokens and checks every line, a second embeds) so that memory stays bounded whatever
/// the size of the input.
/// </summary>
public sealed class CorpusInput
{
    private readonly Func<IEnumerable<InputSentence>> _read;

    private CorpusInput(string name, Func<IEnumerable<InputSentence>> read)
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
        return new CorpusInput(display, () => ReadFile(path, fmt, display, skipBlank));
    }

    /// <summary>Sentences already in memory.</summary>
    /// <param name="sentences">The sentences, in order.</param>
    /// <param name="name">Name used in messages.</param>
    /// <returns>The input.</returns>
    public static CorpusInput FromSentences(IReadOnlyList<InputSentence> sentences, string name = "sentences")
    {
        ArgumentNullException.ThrowIfNull(sentences);
        return new CorpusInput(name, () => sentences);
    }

    /// <summary>Tokenised sentences in memory; each key is the tokens joined by single spaces.</summary>
    /// <param name="sentences">The sentences, in order.</param>
    /// <param name="name">Name used in messages.</param>
    /// <returns>The input.</returns>
    public static CorpusInput FromTokens(IReadOnlyList<IReadOnlyList<string>> sentences, string name = "sentences")
    {
        ArgumentNullException.ThrowIfNull(sentences);
        return new CorpusInput(name, () => sentences.Select((s, i) =>
            new InputSentence(i + 1, string.Join(' ', s ?? throw new ElmoInputException($"Sentence {i} is null.")), s)));
    }

    /// <summary>Reads the sentences once more, from the start.</summary>
    /// <returns>The sentences in input order.</returns>
    public IEnumerable<InputSentence> Read() => _read();

    private static IEnumerable<InputSentence> ReadFile(string path, InputFormat format, string name, bool skipBlank)
    {
        using var reader = new StreamReader(path, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        foreach (var s in InputReader.Read(reader, format, name, skipBlank)) yield return s;
    }
}
