using System.Text;

namespace Elmo.Core;

/// <summary>
/// A re-readable source of sentences for <see cref="CorpusEmbedder"/>, which reads its input twice (a first pass
/// counts sentences and tokens and checks every line, a second embeds) so that memory stays bounded whatever
/// the size of the input. An input that can be read only once (standard input, a pipe such as <c>&lt;(cmd)</c>, a
/// FIFO, a character device) is copied byte for byte into a temporary file at the first read and read from there,
/// like a file; <see cref="Dispose"/> deletes that copy.
/// </summary>
/// <remarks>
/// Files are decoded as UTF-8 exactly as Python 3 decodes them (<c>open(path)</c> under a UTF-8 locale, as AllenNLP
/// reads its input): a byte-order mark at the start is not dropped but stays U+FEFF, part of the first token of a text
/// line, as in AllenNLP (see <see cref="StartsWithByteOrderMark"/>). For JSON lines, a leading byte-order mark is
/// ignored, as JSON parsers may.
/// </remarks>
public sealed class CorpusInput : IDisposable
{
    /// <summary>The prefix of the temporary copies of one-pass inputs, in <see cref="Path.GetTempPath"/>.</summary>
    internal const string SpoolPrefix = "elmo-input";

    private readonly string? _path;
    private readonly InputFormat _format;
    private readonly bool _skipBlank;
    private readonly Func<Stream>? _openOnce;
    private readonly TextReader? _readerOnce;
    private readonly IEnumerable<InputSentence>? _sentences;
    private readonly object _spoolLock = new();
    private TemporaryFile? _spool;
    private bool _consumed;

    private CorpusInput(string name, string? path, InputFormat format, bool skipBlank, Func<Stream>? openOnce, TextReader? readerOnce, IEnumerable<InputSentence>? sentences)
    {
        Name = name;
        _path = path;
        _format = format;
        _skipBlank = skipBlank;
        _openOnce = openOnce;
        _readerOnce = readerOnce;
        _sentences = sentences;
    }

    /// <summary>The name used in messages (the file name, or "standard input").</summary>
    public string Name { get; }

    /// <summary>The file the sentences come from, when they come from a named file (null for standard input and memory).</summary>
    public string? FilePath => _path;

    /// <summary>Whether the input (a file, or standard input) was found to start with a UTF-8 byte-order mark when it was read.</summary>
    public bool StartsWithByteOrderMark { get; private set; }

    /// <summary>
    /// A text or JSON-lines file. A regular file is read afresh on every pass; anything else that can be read (a FIFO,
    /// a pipe from <c>&lt;(cmd)</c>, <c>/dev/stdin</c>, a character device) is copied once into a temporary file.
    /// </summary>
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
        if (path.Length == 0) throw new ElmoInputException("The input path is empty.") { FilePath = path };
        var node = FileNode.Of(path);
        if (node.Kind == FileKind.Missing) throw new ElmoInputException($"Input file '{display}' does not exist.") { FilePath = path };
        if (node.Kind == FileKind.Directory) throw new ElmoInputException($"Input '{display}' is a directory.") { FilePath = path };
        var fmt = format ?? InputReader.FormatOf(path);
        bool once = node.Kind is FileKind.Fifo or FileKind.CharacterDevice or FileKind.Socket;
        Func<Stream>? open = once ? () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16) : null;
        return new CorpusInput(display, path, fmt, skipBlank, open, null, null);
    }

    /// <summary>A reader that can be read once (standard input): copied into a temporary file at the first read, as UTF-8.</summary>
    /// <param name="reader">The text; it is read to its end once.</param>
    /// <param name="format">Its format.</param>
    /// <param name="skipBlank">Skip blank lines instead of failing.</param>
    /// <param name="name">Name used in messages.</param>
    /// <returns>The input; dispose it to delete the temporary copy.</returns>
    public static CorpusInput FromReader(TextReader reader, InputFormat format = InputFormat.Text, bool skipBlank = false, string name = "standard input")
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(name);
        return new CorpusInput(name, null, format, skipBlank, null, reader, null);
    }

    /// <summary>Sentences already in memory.</summary>
    /// <param name="sentences">The sentences, in order.</param>
    /// <param name="name">Name used in messages.</param>
    /// <returns>The input.</returns>
    public static CorpusInput FromSentences(IReadOnlyList<InputSentence> sentences, string name = "sentences")
    {
        ArgumentNullException.ThrowIfNull(sentences);
        return new CorpusInput(name, null, InputFormat.Text, false, null, null, sentences);
    }

    /// <summary>Tokenised sentences in memory; each key is the tokens joined by single spaces.</summary>
    /// <param name="sentences">The sentences, in order.</param>
    /// <param name="name">Name used in messages.</param>
    /// <returns>The input.</returns>
    public static CorpusInput FromTokens(IReadOnlyList<IReadOnlyList<string>> sentences, string name = "sentences")
    {
        ArgumentNullException.ThrowIfNull(sentences);
        return new CorpusInput(name, null, InputFormat.Text, false, null, null, sentences.Select((s, i) =>
            new InputSentence(i + 1, string.Join(' ', s ?? throw new ElmoInputException($"Sentence {i} is null.")), s)));
    }

    /// <summary>The format of the input (text for sentences in memory).</summary>
    internal InputFormat Format => _format;

    /// <summary>Whether blank lines are skipped.</summary>
    internal bool SkipBlank => _skipBlank;

    /// <summary>Reads the sentences once more, from the start.</summary>
    /// <returns>The sentences in input order.</returns>
    public IEnumerable<InputSentence> Read() => Read(null);

    /// <summary>Reads the sentences once more, adding what is read to <paramref name="fingerprint"/>.</summary>
    /// <param name="fingerprint">Receives the bytes of a file (or of its temporary copy), or the texts and tokens of sentences in memory; null for none.</param>
    /// <returns>The sentences in input order.</returns>
    internal IEnumerable<InputSentence> Read(InputFingerprint? fingerprint)
    {
        if (_sentences is not null) return fingerprint is null ? _sentences : Fingerprinted(_sentences, fingerprint);
        if (_openOnce is null && _readerOnce is null) return ReadFile(_path!, fingerprint);
        return Defer(() => ReadFile(Spooled(), fingerprint));
    }

    private static IEnumerable<InputSentence> Fingerprinted(IEnumerable<InputSentence> sentences, InputFingerprint fingerprint)
    {
        foreach (var s in sentences)
        {
            fingerprint.Append(s);
            yield return s;
        }
    }

    private static IEnumerable<InputSentence> Defer(Func<IEnumerable<InputSentence>> read)
    {
        foreach (var s in read()) yield return s;
    }

    /// <summary>Deletes the temporary copy of a one-pass input, if one was made.</summary>
    public void Dispose()
    {
        lock (_spoolLock)
        {
            _spool?.Dispose();
            _spool = null;
        }
    }

    /// <summary>The temporary copy of a one-pass input, made at the first call.</summary>
    private string Spooled()
    {
        lock (_spoolLock)
        {
            if (_spool is not null) return _spool.Path;
            ObjectDisposedException.ThrowIf(_consumed, this);
            _consumed = true;
            string directory = Path.GetTempPath();
            TemporaryFiles.RemoveStale(directory, SpoolPrefix);
            var spool = TemporaryFiles.Create(directory, SpoolPrefix);
            try
            {
                using var copy = new FileStream(spool.Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16);
                if (_openOnce is not null)
                {
                    using var source = _openOnce();
                    source.CopyTo(copy, 1 << 16);
                }
                else
                {
                    using var writer = new StreamWriter(copy, new UTF8Encoding(false), 1 << 16);
                    var buffer = new char[1 << 16];
                    int read;
                    while ((read = _readerOnce!.Read(buffer, 0, buffer.Length)) > 0) writer.Write(buffer, 0, read);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                spool.Dispose();
                throw new ElmoInputException($"Cannot read input '{Name}' into a temporary copy in '{directory}': {e.Message}", e) { FilePath = _path };
            }
            catch
            {
                spool.Dispose();
                throw;
            }
            _spool = spool;
            return spool.Path;
        }
    }

    private IEnumerable<InputSentence> ReadFile(string path, InputFingerprint? fingerprint)
    {
        StreamReader reader;
        try
        {
            Stream stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
            if (fingerprint is not null) stream = new HashingStream(stream, fingerprint);
            reader = new StreamReader(stream, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ElmoInputException($"Cannot read input '{Name}': {e.Message}", e) { FilePath = _path };
        }
        using (reader)
        {
            if (reader.Peek() == InputReader.ByteOrderMark) StartsWithByteOrderMark = true;
            foreach (var s in InputReader.Read(reader, _format, Name, _skipBlank)) yield return s;
        }
    }
}
