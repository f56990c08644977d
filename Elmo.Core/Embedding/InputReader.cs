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
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (format == InputFormat.Text)
            {
                var tokens = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
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

    private static string[] ParseJsonTokens(string line, string source, long lineNumber)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw Bad($"expected a JSON array of token strings, found a JSON {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}");
            }
            var tokens = new string[doc.RootElement.GetArrayLength()];
            int i = 0;
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.String) throw Bad($"token {i} is a JSON {e.ValueKind.ToString().ToLowerInvariant()}, expected a string");
                tokens[i++] = e.GetString()!;
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
