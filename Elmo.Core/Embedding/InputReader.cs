using System.Text.Json;

namespace Elmo.Core;

/// <summary>Input formats of <c>elmo embed</c>.</summary>
public enum InputFormat
{
    /// <summary>One sentence per line, tokens separated by whitespace.</summary>
    Text,

    /// <summary>One JSON array of token strings per line; <c>[]</c> is an empty sentence.</summary>
    JsonLines,
}

/// <summary>Reads sentences from <c>.txt</c> or <c>.jsonl</c> input, with errors that name the line.</summary>
/// <remarks>
/// Text lines are handled as AllenNLP's <c>elmo</c> command does: the sentence (its <c>sentence_to_index</c> key) is
/// the line with surrounding whitespace removed (Python's <c>str.strip()</c>), its tokens the line split on runs of
/// whitespace (<c>str.split()</c>). A JSON line's key is its tokens joined by single spaces.
/// </remarks>
public static class InputReader
{
    /// <summary>
    /// U+FEFF, the byte-order mark. At the start of a text input it is kept as part of the first token, as Python keeps
    /// it (it is not white space to <c>str.split()</c>); at the start of JSON lines it is ignored.
    /// </summary>
    public const char ByteOrderMark = '\uFEFF';

    /// <summary>Blank lines named in the error message; the rest are counted.</summary>
    private const int ListedBlankLines = 20;

    /// <summary>The format implied by a file name (<c>.jsonl</c> → JSON lines, anything else → text).</summary>
    /// <param name="path">File name.</param>
    /// <returns>The format.</returns>
    public static InputFormat FormatOf(string path) =>
        path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) ? InputFormat.JsonLines : InputFormat.Text;

    /// <summary>Reads every sentence of <paramref name="reader"/> into a list.</summary>
    /// <param name="reader">The input.</param>
    /// <param name="format">Its format.</param>
    /// <param name="source">Name used in errors (file name or "standard input").</param>
    /// <param name="skipBlank">Skip blank lines instead of failing.</param>
    /// <returns>The sentences in input order.</returns>
    /// <exception cref="ElmoInputException">A line is blank (all blank lines are listed), or a JSON line is not an array of strings.</exception>
    public static List<InputSentence> ReadAll(TextReader reader, InputFormat format, string source, bool skipBlank = false) =>
        Read(reader, format, source, skipBlank).ToList();

    /// <summary>
    /// Streams the sentences of <paramref name="reader"/> in input order, holding one line at a time. Blank lines are
    /// collected and reported together when the input ends, so a caller that consumes the whole sequence before
    /// acting (as <see cref="CorpusEmbedder"/> does in its first pass) gets one error listing them all.
    /// </summary>
    /// <param name="reader">The input.</param>
    /// <param name="format">Its format.</param>
    /// <param name="source">Name used in errors (file name or "standard input").</param>
    /// <param name="skipBlank">Skip blank lines instead of failing.</param>
    /// <returns>The sentences; enumerating it reads <paramref name="reader"/>, once.</returns>
    /// <exception cref="ElmoInputException">At the end of the input when a line was blank (the message lists their line numbers),
    /// or at once when a JSON line is not an array of strings.</exception>
    public static IEnumerable<InputSentence> Read(TextReader reader, InputFormat format, string source, bool skipBlank = false)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(source);
        return ReadIterator(reader, format, source, skipBlank);
    }

    private static IEnumerable<InputSentence> ReadIterator(TextReader reader, InputFormat format, string source, bool skipBlank)
    {
        var blank = new List<long>();
        long blankCount = 0;
        long lineNumber = 0;
        string? line;
        while ((line = ReadLine(reader, source, lineNumber)) is not null)
        {
            lineNumber++;
            if (lineNumber == 1 && format == InputFormat.JsonLines && line.Length > 0 && line[0] == ByteOrderMark) line = line[1..];
            string stripped = StripPython(line);
            if (stripped.Length == 0)
            {
                if (!skipBlank)
                {
                    if (blank.Count < ListedBlankLines) blank.Add(lineNumber);
                    blankCount++;
                }
                continue;
            }
            if (format == InputFormat.Text)
            {
                yield return new InputSentence(lineNumber, stripped, SplitPython(stripped));
            }
            else
            {
                var tokens = ParseJsonTokens(stripped, source, lineNumber);
                yield return new InputSentence(lineNumber, string.Join(' ', tokens), tokens);
            }
        }

        if (blankCount > 0)
        {
            string lines = string.Join(", ", blank) + (blankCount > blank.Count ? $" and {blankCount - blank.Count} more" : "");
            throw new ElmoInputException($"Input '{source}' has {blankCount} blank line(s): line {lines}. Remove them or pass --skip-blank.")
            {
                FilePath = source,
                LineNumber = blank[0],
            };
        }
    }

    /// <summary>Python's <c>str.isspace()</c> for one UTF-16 unit: .NET's white space plus the separators U+001C…U+001F.</summary>
    /// <param name="c">A character.</param>
    /// <returns>Whether Python treats it as white space.</returns>
    public static bool IsPythonWhiteSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001c' and <= '\u001f';

    /// <summary>Python's <c>str.split()</c> without arguments: tokens separated by runs of white space.</summary>
    /// <param name="text">A line.</param>
    /// <returns>The tokens (none for a blank line).</returns>
    public static string[] SplitPython(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<string>();
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && IsPythonWhiteSpace(text[i])) i++;
            int start = i;
            while (i < text.Length && !IsPythonWhiteSpace(text[i])) i++;
            if (i > start) tokens.Add(text[start..i]);
        }
        return [.. tokens];
    }

    /// <summary>Python's <c>str.strip()</c> without arguments.</summary>
    /// <param name="line">A line.</param>
    /// <returns>The line without leading and trailing white space.</returns>
    public static string StripPython(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        int start = 0, end = line.Length;
        while (start < end && IsPythonWhiteSpace(line[start])) start++;
        while (end > start && IsPythonWhiteSpace(line[end - 1])) end--;
        return start == 0 && end == line.Length ? line : line[start..end];
    }

    /// <summary>
    /// A JSON string's value. System.Text.Json refuses escaped lone surrogates (<c>"\ud800"</c>) that Python's
    /// <c>json.loads</c> accepts; those strings are unescaped here so such tokens reach the character mapper as in AllenNLP.
    /// </summary>
    private static string GetStringAllowingLoneSurrogates(JsonElement e)
    {
        try
        {
            return e.GetString()!;
        }
        catch (InvalidOperationException)
        {
            string raw = e.GetRawText();
            var sb = new System.Text.StringBuilder(raw.Length);
            for (int i = 1; i < raw.Length - 1; i++)
            {
                char c = raw[i];
                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }
                char k = raw[++i];
                switch (k)
                {
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        sb.Append((char)Convert.ToUInt16(raw.Substring(i + 1, 4), 16));
                        i += 4;
                        break;
                    default: sb.Append(k); break; // \" \\ \/
                }
            }
            return sb.ToString();
        }
    }

    private static string[] ParseJsonTokens(string line, string source, long lineNumber)
    {
        try
        {
            using var doc = JsonDocument.Parse(EscapeLoneSurrogates(line));
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw Bad($"expected a JSON array of token strings, found a JSON {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}");
            }
            var tokens = new string[doc.RootElement.GetArrayLength()];
            int i = 0;
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.String) throw Bad($"token {i} is a JSON {e.ValueKind.ToString().ToLowerInvariant()}, expected a string");
                tokens[i++] = GetStringAllowingLoneSurrogates(e);
            }
            return tokens;
        }
        catch (JsonException e)
        {
            throw Bad($"not valid JSON ({e.Message})", e);
        }

        ElmoInputException Bad(string what, Exception? inner = null) =>
            new($"Input '{source}', line {lineNumber}: {what}.", inner) { FilePath = source, LineNumber = lineNumber };
    }

    /// <summary>The next line; a strict decoder's complaint about bad UTF-8 becomes an input error.</summary>
    private static string? ReadLine(TextReader reader, string source, long linesRead)
    {
        try
        {
            return reader.ReadLine();
        }
        catch (System.Text.DecoderFallbackException e)
        {
            // A decoder works ahead of the line being read: the bad bytes are at or after the next line.
            throw new ElmoInputException($"Input '{source}' is not valid UTF-8 at or after line {linesRead + 1}: {e.Message}", e) { FilePath = source, LineNumber = linesRead + 1 };
        }
    }

    /// <summary>
    /// Writes each lone surrogate of <paramref name="line"/> as a <c>\uXXXX</c> escape: System.Text.Json cannot parse
    /// raw ones (an <see cref="ArgumentException"/>), and inside a string the escape means the same as the character,
    /// as in Python's <c>json.loads</c> (outside a string both are invalid JSON).
    /// </summary>
    private static string EscapeLoneSurrogates(string line)
    {
        System.Text.StringBuilder? sb = null;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (char.IsHighSurrogate(c) && i + 1 < line.Length && char.IsLowSurrogate(line[i + 1]))
            {
                sb?.Append(c).Append(line[i + 1]);
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                sb ??= new System.Text.StringBuilder(line, 0, i, line.Length + 16);
                sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                sb?.Append(c);
            }
        }
        return sb?.ToString() ?? line;
    }
}
