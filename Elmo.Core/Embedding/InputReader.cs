using System.Globalization;
using System.Text;
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
public static class InputReader
{
    /// <summary>The format implied by a file name (<c>.jsonl</c> → JSON lines, anything else → text).</summary>
    /// <param name="path">File name.</param>
    /// <returns>The format.</returns>
    public static InputFormat FormatOf(string path) =>
        path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) ? InputFormat.JsonLines : InputFormat.Text;

    /// <summary>Reads every sentence of <paramref name="reader"/>.</summary>
    /// <param name="reader">The input.</param>
    /// <param name="format">Its format.</param>
    /// <param name="source">Name used in errors (file name or "standard input").</param>
    /// <param name="skipBlank">Skip blank lines of text input instead of failing.</param>
    /// <returns>The sentences in input order.</returns>
    /// <exception cref="ElmoInputException">A text line is blank (all blank lines are listed), or a JSON line is not an array of strings.</exception>
    public static List<InputSentence> ReadAll(TextReader reader, InputFormat format, string source, bool skipBlank = false)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var sentences = new List<InputSentence>();
        var blank = new List<long>();
        long lineNumber = 0;
        while (true)
        {
            string? line;
            try
            {
                line = reader.ReadLine();
            }
            catch (DecoderFallbackException e)
            {
                // A strict decoder works ahead of the line being read: the bad bytes are at or after this line.
                throw new ElmoInputException($"Input '{source}' is not valid UTF-8 at or after line {lineNumber + 1}: {e.Message}", e) { FilePath = source, LineNumber = lineNumber + 1 };
            }
            if (line is null) break;
            lineNumber++;
            if (format == InputFormat.Text)
            {
                var tokens = SplitOnWhitespace(line);
                if (tokens.Length == 0)
                {
                    if (!skipBlank) blank.Add(lineNumber);
                    continue;
                }
                sentences.Add(new InputSentence(lineNumber, string.Join(' ', tokens), tokens));
            }
            else
            {
                if (line.Trim().Length == 0)
                {
                    if (!skipBlank) blank.Add(lineNumber);
                    continue;
                }
                var tokens = ParseJsonTokens(line, source, lineNumber);
                sentences.Add(new InputSentence(lineNumber, string.Join(' ', tokens), tokens));
            }
        }

        if (blank.Count > 0)
        {
            string lines = string.Join(", ", blank.Take(20)) + (blank.Count > 20 ? $" and {blank.Count - 20} more" : "");
            throw new ElmoInputException($"Input '{source}' has {blank.Count} blank line(s): line {lines}. Remove them or pass --skip-blank.")
            {
                FilePath = source,
                LineNumber = blank[0],
            };
        }
        return sentences;
    }

    /// <summary>
    /// Python's <c>str.split()</c>: runs of whitespace separate tokens. Python's whitespace is .NET's plus the
    /// information separators U+001C…U+001F.
    /// </summary>
    /// <param name="line">A line of text.</param>
    /// <returns>The tokens, none empty.</returns>
    public static string[] SplitOnWhitespace(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var tokens = new List<string>();
        int start = -1;
        for (int i = 0; i <= line.Length; i++)
        {
            bool space = i == line.Length || char.IsWhiteSpace(line[i]) || line[i] is >= '\u001C' and <= '\u001F';
            if (space && start >= 0)
            {
                tokens.Add(line[start..i]);
                start = -1;
            }
            else if (!space && start < 0)
            {
                start = i;
            }
        }
        return tokens.ToArray();
    }

    /// <summary>
    /// A JSON string's value. Python's <c>json.loads</c> accepts escaped lone surrogates (<c>"\ud800"</c>) and
    /// keeps them; System.Text.Json refuses them, so such a string is unescaped here, keeping them too (the
    /// character mapper then drops them, as AllenNLP does).
    /// </summary>
    private static string StringOf(JsonElement e)
    {
        try
        {
            return e.GetString()!;
        }
        catch (InvalidOperationException)
        {
            string raw = e.GetRawText();
            var sb = new StringBuilder(raw.Length);
            for (int i = 1; i < raw.Length - 1; i++)
            {
                char c = raw[i];
                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }
                c = raw[++i];
                switch (c)
                {
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        sb.Append((char)int.Parse(raw.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
                        i += 4;
                        break;
                    default: sb.Append(c); break; // \" \\ \/
                }
            }
            return sb.ToString();
        }
    }

    /// <summary>
    /// Writes each lone surrogate of <paramref name="line"/> as a <c>\uXXXX</c> escape: System.Text.Json cannot
    /// read raw ones, and inside a string the escape means the same as the character (outside, both are invalid).
    /// </summary>
    private static string EscapeLoneSurrogates(string line)
    {
        StringBuilder? sb = null;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            bool pair = char.IsHighSurrogate(c) && i + 1 < line.Length && char.IsLowSurrogate(line[i + 1]);
            if (pair)
            {
                sb?.Append(c).Append(line[i + 1]);
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                sb ??= new StringBuilder(line, 0, i, line.Length + 16);
                sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                sb?.Append(c);
            }
        }
        return sb?.ToString() ?? line;
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
                tokens[i++] = StringOf(e);
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
}
