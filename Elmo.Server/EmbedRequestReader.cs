using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Elmo.Core;

namespace Elmo.Server;

/// <summary>
/// Reads the JSON body of <c>POST /v1/embed</c> with a <see cref="Utf8JsonReader"/>, checking the limits as it goes
/// (nothing beyond a limit is kept) and naming the field at fault in every refusal: <c>sentences[3][2]</c>,
/// <c>texts[0]</c>, <c>output.mix</c>, <c>body</c>. A hand-written reader rather than a deserializer, so that each
/// error names its field and a hostile body (deep nesting, huge arrays, invalid UTF-8) is refused at the first byte
/// that makes it so.
/// </summary>
internal static class EmbedRequestReader
{
    /// <summary>Nesting the request format needs (object, sentences, sentence), with room for a clear error message.</summary>
    private const int MaxDepth = 8;

    private const string Example = """{"sentences": [["Hello", "world"]], "output": "top"}""";

    /// <summary>Parses and checks a request body.</summary>
    /// <param name="body">The body's bytes.</param>
    /// <param name="limits">The limits.</param>
    /// <param name="layerCount">The model's output layers (L+1), the length a mix's weights must have.</param>
    /// <returns>The request.</returns>
    /// <exception cref="RequestProblem">400 for what is malformed, 413 for what exceeds a limit.</exception>
    public static EmbedRequest Parse(ReadOnlySpan<byte> body, RequestLimits limits, int layerCount)
    {
        if (IsBlank(body)) throw RequestProblem.Invalid("body", $"empty; send a JSON object such as {Example}.");
        if (!Utf8.IsValid(body)) throw RequestProblem.Invalid("body", $"not valid UTF-8 (at byte {InvalidUtf8Offset(body)}).");
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = MaxDepth });
        try
        {
            return ParseObject(ref reader, limits, layerCount);
        }
        catch (JsonException e)
        {
            throw RequestProblem.Invalid("body", $"not valid JSON: {Describe(e)}");
        }
    }

    private static EmbedRequest ParseObject(ref Utf8JsonReader reader, RequestLimits limits, int layerCount)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject) throw RequestProblem.Invalid("body", $"expected a JSON object such as {Example}, got {Kind(reader.TokenType)}.");
        List<IReadOnlyList<string>>? sentences = null;
        string? sentencesField = null;
        LayerChoice? output = null;
        bool outputSeen = false;
        long tokens = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = String(ref reader, "body");
            reader.Read();
            switch (name)
            {
                case "sentences":
                case "texts":
                    if (sentencesField == name) throw RequestProblem.Invalid(name, "given twice.");
                    if (sentencesField is not null) throw RequestProblem.Invalid(name, $"give either sentences or texts, not both.");
                    sentencesField = name;
                    sentences = name == "sentences" ? ParseSentences(ref reader, limits, ref tokens) : ParseTexts(ref reader, limits, ref tokens);
                    break;
                case "output":
                    if (outputSeen) throw RequestProblem.Invalid(name, "given twice.");
                    outputSeen = true;
                    output = ParseOutput(ref reader, layerCount);
                    break;
                default:
                    throw RequestProblem.Invalid(Shorten(name), "unknown field; the fields are sentences (or texts) and output.");
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject) throw RequestProblem.Invalid("body", "expected a field name or the end of the object.");
        if (reader.Read()) throw RequestProblem.Invalid("body", "more JSON after the request object.");
        if (sentences is null) throw RequestProblem.Invalid("sentences", "missing: give sentences (arrays of token strings) or texts (strings split on white space).");
        if (sentences.Count == 0) throw RequestProblem.Invalid(sentencesField!, "empty: give at least one sentence.");
        return new EmbedRequest(sentences, output ?? LayerChoice.All, tokens);
    }

    private static List<IReadOnlyList<string>> ParseSentences(ref Utf8JsonReader reader, RequestLimits limits, ref long total)
    {
        if (reader.TokenType != JsonTokenType.StartArray) throw RequestProblem.Invalid("sentences", $"expected an array of sentences (arrays of token strings), got {Kind(reader.TokenType)}.");
        var sentences = new List<IReadOnlyList<string>>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            int i = sentences.Count;
            if (i >= limits.MaxSentences) throw RequestProblem.TooLarge("sentences", $"more than {limits.MaxSentences} sentences; send at most {limits.MaxSentences} per request.");
            string field = $"sentences[{i}]";
            if (reader.TokenType != JsonTokenType.StartArray) throw RequestProblem.Invalid(field, $"expected an array of token strings, got {Kind(reader.TokenType)}.");
            var tokens = new List<string>();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                string tokenField = $"{field}[{tokens.Count}]";
                if (tokens.Count >= limits.MaxTokensPerSentence) throw RequestProblem.TooLarge(field, $"more than {limits.MaxTokensPerSentence} tokens; at most {limits.MaxTokensPerSentence} per sentence.");
                if (reader.TokenType != JsonTokenType.String) throw RequestProblem.Invalid(tokenField, $"expected a string (a token), got {Kind(reader.TokenType)}.");
                tokens.Add(Token(ref reader, tokenField, limits));
            }
            total += tokens.Count;
            CheckTotal(total, limits, "sentences");
            sentences.Add(tokens);
        }
        return sentences;
    }

    private static List<IReadOnlyList<string>> ParseTexts(ref Utf8JsonReader reader, RequestLimits limits, ref long total)
    {
        if (reader.TokenType != JsonTokenType.StartArray) throw RequestProblem.Invalid("texts", $"expected an array of strings, got {Kind(reader.TokenType)}.");
        var sentences = new List<IReadOnlyList<string>>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            int i = sentences.Count;
            if (i >= limits.MaxSentences) throw RequestProblem.TooLarge("texts", $"more than {limits.MaxSentences} texts; send at most {limits.MaxSentences} per request.");
            string field = $"texts[{i}]";
            if (reader.TokenType != JsonTokenType.String) throw RequestProblem.Invalid(field, $"expected a string (a sentence), got {Kind(reader.TokenType)}.");
            // Split as a line of a .txt input is (Python's str.split()).
            var tokens = InputReader.SplitPython(String(ref reader, field));
            if (tokens.Length == 0) throw RequestProblem.Invalid(field, "blank: no tokens (a blank line of a .txt input is an error too).");
            if (tokens.Length > limits.MaxTokensPerSentence) throw RequestProblem.TooLarge(field, $"{tokens.Length} tokens; at most {limits.MaxTokensPerSentence} per sentence.");
            for (int t = 0; t < tokens.Length; t++)
            {
                if (tokens[t].Length > limits.MaxTokenCharacters) throw RequestProblem.TooLarge(field, $"token {t} has {tokens[t].Length} characters; at most {limits.MaxTokenCharacters} per token.");
            }
            total += tokens.Length;
            CheckTotal(total, limits, "texts");
            sentences.Add(tokens);
        }
        return sentences;
    }

    private static LayerChoice ParseOutput(ref Utf8JsonReader reader, int layerCount)
    {
        const string Kinds = """ "all", "top", "average" or {"mix": [w0, ..., wL], "gamma": g}""";
        if (reader.TokenType == JsonTokenType.String)
        {
            return String(ref reader, "output") switch
            {
                "all" => LayerChoice.All,
                "top" => LayerChoice.Top,
                "average" => LayerChoice.Average,
                "mix" => throw RequestProblem.Invalid("output", $"a mix is an object with its weights: {{\"mix\": [{Weights(layerCount)}], \"gamma\": 1}}."),
                var other => throw RequestProblem.Invalid("output", $"unknown output kind \"{Shorten(other)}\"; expected{Kinds}."),
            };
        }
        if (reader.TokenType != JsonTokenType.StartObject) throw RequestProblem.Invalid("output", $"expected{Kinds}, got {Kind(reader.TokenType)}.");
        float[]? weights = null;
        float gamma = 1f;
        bool gammaSeen = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = String(ref reader, "output");
            reader.Read();
            switch (name)
            {
                case "mix":
                    if (weights is not null) throw RequestProblem.Invalid("output.mix", "given twice.");
                    if (reader.TokenType != JsonTokenType.StartArray) throw RequestProblem.Invalid("output.mix", $"expected an array of {layerCount} numbers (one pre-softmax weight per layer), got {Kind(reader.TokenType)}.");
                    var list = new List<float>();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (list.Count >= layerCount) throw RequestProblem.Invalid("output.mix", $"more than {layerCount} weights; this model has {layerCount} layers: one weight each ({Weights(layerCount)}).");
                        list.Add(Number(ref reader, $"output.mix[{list.Count}]"));
                    }
                    if (list.Count != layerCount) throw RequestProblem.Invalid("output.mix", $"{list.Count} weights; this model has {layerCount} layers: one weight each ({Weights(layerCount)}).");
                    weights = [.. list];
                    break;
                case "gamma":
                    if (gammaSeen) throw RequestProblem.Invalid("output.gamma", "given twice.");
                    gammaSeen = true;
                    gamma = Number(ref reader, "output.gamma");
                    break;
                case "layer_norm":
                    throw RequestProblem.Invalid("output.layer_norm", "not offered: a layer-normalised mix depends on the other sentences of its batch, so a server's answers would depend on other clients' requests (use elmo embed --layer-norm).");
                default:
                    throw RequestProblem.Invalid($"output.{Shorten(name)}", "unknown field; a mix has the fields mix and gamma.");
            }
        }
        if (weights is null) throw RequestProblem.Invalid("output.mix", $"missing: a mix needs one pre-softmax weight per layer: [{Weights(layerCount)}].");
        return LayerChoice.Mix(weights, gamma);
    }

    private static float Number(ref Utf8JsonReader reader, string field)
    {
        if (reader.TokenType != JsonTokenType.Number) throw RequestProblem.Invalid(field, $"expected a number, got {Kind(reader.TokenType)}.");
        // Parsed from its text straight to float32, as the CLI's --mix and --gamma are.
        if (!reader.TryGetSingle(out float value) || !float.IsFinite(value))
        {
            throw RequestProblem.Invalid(field, $"{Encoding.UTF8.GetString(reader.ValueSpan)} is outside the float32 range (about ±3.4e38).");
        }
        return value;
    }

    private static string Token(ref Utf8JsonReader reader, string field, RequestLimits limits)
    {
        // The escaped length bounds the token's length from above: refuse what is far too long before decoding it.
        if (reader.ValueSpan.Length > 12L * limits.MaxTokenCharacters) throw RequestProblem.TooLarge(field, $"longer than {limits.MaxTokenCharacters} characters; at most {limits.MaxTokenCharacters} per token.");
        string token = String(ref reader, field);
        if (token.Length > limits.MaxTokenCharacters) throw RequestProblem.TooLarge(field, $"{token.Length} characters; at most {limits.MaxTokenCharacters} per token.");
        return token;
    }

    /// <summary>
    /// A string's value. System.Text.Json refuses escaped lone surrogates (<c>"\ud800"</c>), which JSON allows and
    /// Python's <c>json.loads</c> and <c>elmo embed</c>'s .jsonl input accept: such strings are unescaped here.
    /// </summary>
    private static string String(ref Utf8JsonReader reader, string field)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // The body is valid UTF-8 (checked first), so only an escape can be at fault.
            return Unescape(reader.ValueSpan, field);
        }
    }

    private static string Unescape(ReadOnlySpan<byte> raw, string field)
    {
        var sb = new StringBuilder(raw.Length);
        for (int i = 0; i < raw.Length;)
        {
            if (raw[i] != (byte)'\\')
            {
                int start = i;
                while (i < raw.Length && raw[i] != (byte)'\\') i++;
                sb.Append(Encoding.UTF8.GetString(raw[start..i]));
                continue;
            }
            byte k = raw[i + 1];
            i += 2;
            switch (k)
            {
                case (byte)'b': sb.Append('\b'); break;
                case (byte)'f': sb.Append('\f'); break;
                case (byte)'n': sb.Append('\n'); break;
                case (byte)'r': sb.Append('\r'); break;
                case (byte)'t': sb.Append('\t'); break;
                case (byte)'u':
                    if (!ushort.TryParse(Encoding.ASCII.GetString(raw.Slice(i, 4)), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ushort unit))
                    {
                        throw RequestProblem.Invalid(field, "a \\u escape without four hexadecimal digits.");
                    }
                    sb.Append((char)unit);
                    i += 4;
                    break;
                default: sb.Append((char)k); break; // \" \\ \/
            }
        }
        return sb.ToString();
    }

    private static void CheckTotal(long total, RequestLimits limits, string field)
    {
        if (total > limits.MaxRequestTokens) throw RequestProblem.TooLarge(field, $"more than {limits.MaxRequestTokens} tokens in all; at most {limits.MaxRequestTokens} per request (split it).");
    }

    private static bool IsBlank(ReadOnlySpan<byte> body) => body.IndexOfAnyExcept(" \t\r\n"u8) < 0;

    private static int InvalidUtf8Offset(ReadOnlySpan<byte> body)
    {
        int offset = 0;
        while (offset < body.Length)
        {
            if (Rune.DecodeFromUtf8(body[offset..], out _, out int consumed) != OperationStatus.Done) return offset;
            offset += consumed;
        }
        return offset;
    }

    private static string Describe(JsonException e)
    {
        // Utf8JsonReader's messages end with "LineNumber: 0 | BytePositionInLine: 12."; say it once, 1-based.
        string message = e.Message;
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut >= 0) message = message[..cut];
        return e.LineNumber is long line && e.BytePositionInLine is long column
            ? string.Create(CultureInfo.InvariantCulture, $"{message.TrimEnd()} (line {line + 1}, byte {column + 1}).")
            : message;
    }

    private static string Kind(JsonTokenType type) => type switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => "nothing",
    };

    private static string Weights(int layers) => string.Join(", ", Enumerable.Range(0, layers).Select(l => $"w{l}"));

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..37] + "...";
}
