using System.Text.Json;

namespace Elmo.Core;

/// <summary>Activation applied after the character convolutions' max-pooling.</summary>
public enum CharActivation
{
    /// <summary>max(0, x).</summary>
    Relu,

    /// <summary>tanh(x).</summary>
    Tanh,
}

/// <summary>One convolution of the character CNN: a filter <paramref name="Width"/> (in characters) and its <paramref name="Count"/> of filters.</summary>
/// <param name="Width">Characters the filter spans.</param>
/// <param name="Count">Number of filters (output channels) of that width.</param>
public readonly record struct CharFilter(int Width, int Count);

/// <summary>The <c>char_cnn</c> section of the options JSON.</summary>
/// <param name="Activation">Activation after max-pooling.</param>
/// <param name="EmbeddingDim">Character embedding size (<c>embedding.dim</c>).</param>
/// <param name="Filters">Convolutions in the order of <c>filters</c>.</param>
/// <param name="HighwayLayers">Number of highway layers (<c>n_highway</c>; 0 when absent).</param>
/// <param name="CharacterCount">The <c>n_characters</c> field (261 at training time, 262 at inference; both load the same weights).</param>
/// <param name="MaxCharactersPerToken">Characters per token including begin/end-of-word (<c>max_characters_per_token</c>).</param>
public sealed record CharCnnOptions(
    CharActivation Activation,
    int EmbeddingDim,
    IReadOnlyList<CharFilter> Filters,
    int HighwayLayers,
    int CharacterCount,
    int MaxCharactersPerToken)
{
    /// <summary>Total number of filters: the width of the concatenated CNN output.</summary>
    public int FilterCount => Filters.Sum(f => f.Count);

    /// <summary>Rows of the <c>char_embed</c> dataset: one per character id 1…, id 0 being the zero padding row added at load.</summary>
    public int EmbeddingRows => Math.Max(CharacterCount - 1, 261);
}

/// <summary>The <c>lstm</c> section of the options JSON.</summary>
/// <param name="CellDim">Memory cell size (<c>dim</c>).</param>
/// <param name="ProjectionDim">Output (projection) size (<c>projection_dim</c>).</param>
/// <param name="Layers">Number of LSTM layers (<c>n_layers</c>).</param>
/// <param name="CellClip">Memory cell clip (<c>cell_clip</c>); null when absent or 0.</param>
/// <param name="ProjectionClip">Projected output clip (<c>proj_clip</c>); null when absent or 0.</param>
/// <param name="UseSkipConnections">Layers after the first add their input to their output.</param>
public sealed record LstmOptions(int CellDim, int ProjectionDim, int Layers, float? CellClip, float? ProjectionClip, bool UseSkipConnections);

/// <summary>
/// The model architecture, as in AllenNLP's / bilm-tf's options JSON. Immutable.
/// </summary>
/// <param name="Lstm">The biLSTM.</param>
/// <param name="CharCnn">The character CNN.</param>
public sealed record ElmoOptions(LstmOptions Lstm, CharCnnOptions CharCnn)
{
    /// <summary>The largest <c>max_characters_per_token</c> the engine accepts (every published model uses 50).</summary>
    public const int MaxCharactersPerTokenLimit = 1024;

    /// <summary>Width of every output layer: both directions' projections, <c>2 · projection_dim</c>.</summary>
    public int OutputDim => 2 * Lstm.ProjectionDim;

    /// <summary>Number of output layers: the token layer plus one per LSTM layer.</summary>
    public int OutputLayers => Lstm.Layers + 1;

    /// <summary>True when bilm-tf omits <c>CNN_proj</c>: the CNN output is already <c>projection_dim</c> wide.</summary>
    public bool HasProjection => CharCnn.FilterCount != Lstm.ProjectionDim;

    /// <summary>
    /// The largest options file read: published options files are a few hundred bytes, so anything near this is another
    /// file given by mistake (a weight file, a corpus, <c>/dev/zero</c>), refused before it fills memory.
    /// </summary>
    public const int MaxFileBytes = 1 << 20;

    /// <summary>Reads and validates an options file (at most <see cref="MaxFileBytes"/>; a pipe such as <c>&lt;(cmd)</c> works).</summary>
    /// <param name="path">Path of the JSON file.</param>
    /// <exception cref="ElmoOptionsException">The file cannot be read, is too large, is not JSON, or a field is missing, mistyped or impossible.</exception>
    public static ElmoOptions Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 12);
            if (stream.CanSeek && stream.Length > MaxFileBytes) throw TooLarge(path, stream.Length);
            // Read at most one byte beyond the limit: a device or pipe that never ends (/dev/zero) is refused too.
            var bytes = new byte[MaxFileBytes + 1];
            int length = 0, read;
            while (length < bytes.Length && (read = stream.Read(bytes, length, bytes.Length - length)) > 0) length += read;
            if (length > MaxFileBytes) throw TooLarge(path, null);
            using var reader = new StreamReader(new MemoryStream(bytes, 0, length), System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            text = reader.ReadToEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ElmoOptionsException($"Cannot read options file '{path}': {e.Message}", e) { FilePath = path };
        }
        return Parse(text, path);
    }

    private static ElmoOptionsException TooLarge(string path, long? size) =>
        new($"Options file '{path}' {(size is long n ? $"is larger than {MaxFileBytes >> 20} MiB ({n} bytes)" : $"holds more than {MaxFileBytes >> 20} MiB")}; an options JSON is a few hundred bytes: is this the options file?") { FilePath = path };

    /// <summary>Parses and validates options JSON text.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Name of the source used in error messages.</param>
    /// <exception cref="ElmoOptionsException">The text is not JSON, or a field is missing, mistyped or impossible.</exception>
    public static ElmoOptions Parse(string json, string source = "<options>")
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(ReplaceEscapedLoneSurrogates(json), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new ElmoOptionsException($"Options file '{source}' is not valid JSON (line {e.LineNumber + 1}): {e.Message}", e) { FilePath = source };
        }
        catch (ArgumentException e)
        {
            // The text holds a lone surrogate, which no JSON file can (it cannot be encoded as UTF-8).
            throw new ElmoOptionsException($"Options file '{source}' is not valid JSON: it holds invalid UTF-16 text (a lone surrogate).", e) { FilePath = source };
        }

        using (doc)
        {
            var r = new Reader(source);
            var root = r.Object(doc.RootElement, "(root)");
            var lstm = r.Object(r.Required(root, "lstm", "lstm"), "lstm");
            var cnn = r.Object(r.Required(root, "char_cnn", "char_cnn"), "char_cnn");

            int dim = r.PositiveInt(lstm, "dim", "lstm.dim");
            int proj = r.PositiveInt(lstm, "projection_dim", "lstm.projection_dim");
            int layers = r.PositiveInt(lstm, "n_layers", "lstm.n_layers");
            float? cellClip = r.OptionalClip(lstm, "cell_clip", "lstm.cell_clip");
            float? projClip = r.OptionalClip(lstm, "proj_clip", "lstm.proj_clip");
            bool skip = r.OptionalBool(lstm, "use_skip_connections", "lstm.use_skip_connections") ?? false;

            string act = r.String(r.Required(cnn, "activation", "char_cnn.activation"), "char_cnn.activation");
            CharActivation activation = act switch
            {
                "relu" => CharActivation.Relu,
                "tanh" => CharActivation.Tanh,
                _ => throw r.Error("char_cnn.activation", $"unknown activation '{act}' (expected \"relu\" or \"tanh\")"),
            };
            var emb = r.Object(r.Required(cnn, "embedding", "char_cnn.embedding"), "char_cnn.embedding");
            int embDim = r.PositiveInt(emb, "dim", "char_cnn.embedding.dim");
            var filtersEl = r.Required(cnn, "filters", "char_cnn.filters");
            if (filtersEl.ValueKind != JsonValueKind.Array) throw r.Error("char_cnn.filters", $"expected a list of [width, count] pairs, found {Kind(filtersEl)}");
            var filters = new List<CharFilter>();
            int fi = 0;
            foreach (var f in filtersEl.EnumerateArray())
            {
                string name = $"char_cnn.filters[{fi}]";
                if (f.ValueKind != JsonValueKind.Array || f.GetArrayLength() != 2) throw r.Error(name, $"expected a pair [width, count], found {f.GetRawText()}");
                int w = r.PositiveIntValue(f[0], name + "[0] (width)");
                int n = r.PositiveIntValue(f[1], name + "[1] (count)");
                filters.Add(new CharFilter(w, n));
                fi++;
            }
            if (filters.Count == 0) throw r.Error("char_cnn.filters", "at least one filter is needed");
            int highway = r.OptionalNonNegativeInt(cnn, "n_highway", "char_cnn.n_highway") ?? 0;
            int nChars = r.PositiveInt(cnn, "n_characters", "char_cnn.n_characters");
            if (nChars < 261) throw r.Error("char_cnn.n_characters", $"{nChars} is too small: character ids go up to 260 (261 after the +1 shift), so at least 261 is needed (262 at inference)");
            int maxChars = r.PositiveInt(cnn, "max_characters_per_token", "char_cnn.max_characters_per_token");
            if (maxChars < 3) throw r.Error("char_cnn.max_characters_per_token", $"{maxChars} is too small: begin-of-word, one character and end-of-word need 3");
            if (maxChars > MaxCharactersPerTokenLimit) throw r.Error("char_cnn.max_characters_per_token", $"{maxChars} is too large: the engine supports at most {MaxCharactersPerTokenLimit} (published models use 50)");
            int widest = filters.Max(f => f.Width);
            if (widest > maxChars) throw r.Error("char_cnn.filters", $"a filter of width {widest} is wider than max_characters_per_token = {maxChars}");

            // Every weight matrix must fit in one .NET array; checked here so that no size computed later overflows.
            long filterCount = filters.Sum(f => (long)f.Count);
            long charRows = Math.Max(nChars - 1, 261) + 1L;
            r.CheckElements(charRows >= embDim ? "char_cnn.n_characters" : "char_cnn.embedding.dim", charRows * embDim, "char_embed (n_characters × embedding.dim)");
            for (int i = 0; i < filters.Count; i++)
            {
                r.CheckElements($"char_cnn.filters[{i}]", (long)filters[i].Width * embDim * filters[i].Count, $"CNN/W_cnn_{i} (width × embedding.dim × count)");
            }
            r.CheckElements("char_cnn.filters", 2 * filterCount * filterCount, "a highway layer (2 · filters²)");
            r.CheckElements("lstm.projection_dim", filterCount * proj, "CNN_proj/W_proj (filters × lstm.projection_dim)");
            r.CheckElements("lstm.dim", 2L * proj * 4L * dim, "W_0 (2 · projection_dim × 4 · dim)");

            return new ElmoOptions(
                new LstmOptions(dim, proj, layers, cellClip, projClip, skip),
                new CharCnnOptions(activation, embDim, filters.AsReadOnly(), highway, nChars, maxChars));
        }
    }

    /// <summary>Writes the options as JSON in the AllenNLP / bilm-tf layout.</summary>
    /// <returns>Indented JSON text.</returns>
    public string ToJson()
    {
        // Written field by field (no reflection, so trimmed and Native AOT builds write the same bytes).
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("lstm");
            w.WriteNumber("dim", Lstm.CellDim);
            w.WriteNumber("projection_dim", Lstm.ProjectionDim);
            w.WriteNumber("n_layers", Lstm.Layers);
            w.WriteNumber("cell_clip", Lstm.CellClip ?? 0);
            w.WriteNumber("proj_clip", Lstm.ProjectionClip ?? 0);
            w.WriteBoolean("use_skip_connections", Lstm.UseSkipConnections);
            w.WriteEndObject();
            w.WriteStartObject("char_cnn");
            w.WriteString("activation", CharCnn.Activation == CharActivation.Relu ? "relu" : "tanh");
            w.WriteStartObject("embedding");
            w.WriteNumber("dim", CharCnn.EmbeddingDim);
            w.WriteEndObject();
            w.WriteStartArray("filters");
            foreach (var f in CharCnn.Filters)
            {
                w.WriteStartArray();
                w.WriteNumberValue(f.Width);
                w.WriteNumberValue(f.Count);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteNumber("n_highway", CharCnn.HighwayLayers);
            w.WriteNumber("n_characters", CharCnn.CharacterCount);
            w.WriteNumber("max_characters_per_token", CharCnn.MaxCharactersPerToken);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string Kind(JsonElement e) => e.ValueKind.ToString().ToLowerInvariant();

    /// <summary>
    /// Rewrites each escaped lone surrogate (<c>\ud800</c> not followed by an escaped low surrogate, or a low one alone)
    /// as <c>\ufffd</c>. Python's <c>json.loads</c> accepts such strings, so AllenNLP loads an options file with one in an
    /// unknown key; System.Text.Json cannot read them back as strings. A known field holding one is then refused by
    /// its own check (there is no valid value with U+FFFD in it), naming the field.
    /// </summary>
    private static string ReplaceEscapedLoneSurrogates(string json)
    {
        System.Text.StringBuilder? sb = null;
        int copied = 0;
        for (int i = 0; i < json.Length - 1; i++)
        {
            if (json[i] != '\\') continue;
            if (json[i + 1] != 'u' || !TryUnit(json, i, out char unit))
            {
                i++; // an escaped character (\\, \"): skip it
                continue;
            }
            bool paired = char.IsHighSurrogate(unit) && TryUnit(json, i + 6, out char next) && char.IsLowSurrogate(next);
            if (paired)
            {
                i += 11;
                continue;
            }
            if (char.IsSurrogate(unit))
            {
                sb ??= new System.Text.StringBuilder(json.Length);
                sb.Append(json, copied, i - copied).Append("\\ufffd");
                copied = i + 6;
            }
            i += 5;
        }
        return sb is null ? json : sb.Append(json, copied, json.Length - copied).ToString();

        static bool TryUnit(string s, int at, out char unit)
        {
            unit = '\0';
            if (at + 6 > s.Length || s[at] != '\\' || s[at + 1] != 'u') return false;
            if (!ushort.TryParse(s.AsSpan(at + 2, 4), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out ushort v)) return false;
            unit = (char)v;
            return true;
        }
    }

    private sealed class Reader(string source)
    {
        public ElmoOptionsException Error(string field, string what) =>
            new($"Options file '{source}', field '{field}': {what}.") { FilePath = source, Field = field };

        public JsonElement Object(JsonElement e, string field) =>
            e.ValueKind == JsonValueKind.Object ? e : throw Error(field, $"expected an object, found {Kind(e)}");

        public JsonElement Required(JsonElement obj, string name, string field) =>
            obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : throw Error(field, "is missing");

        public string String(JsonElement e, string field) =>
            e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Error(field, $"expected a string, found {Kind(e)}");

        public int PositiveInt(JsonElement obj, string name, string field) => PositiveIntValue(Required(obj, name, field), field);

        public int PositiveIntValue(JsonElement e, string field)
        {
            int v = IntValue(e, field);
            return v > 0 ? v : throw Error(field, $"must be positive, found {v}");
        }

        public int? OptionalNonNegativeInt(JsonElement obj, string name, string field)
        {
            if (!obj.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null) return null;
            int v = IntValue(e, field);
            return v >= 0 ? v : throw Error(field, $"must not be negative, found {v}");
        }

        public float? OptionalClip(JsonElement obj, string name, string field)
        {
            if (!obj.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null) return null;
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double d) || !double.IsFinite(d)) throw Error(field, $"expected a number, found {e.GetRawText()}");
            if (d < 0) throw Error(field, $"must not be negative, found {d}");
            return d == 0 ? null : (float)d;
        }

        public bool? OptionalBool(JsonElement obj, string name, string field)
        {
            if (!obj.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null) return null;
            return e.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Error(field, $"expected true or false, found {e.GetRawText()}"),
            };
        }

        public void CheckElements(string field, long elements, string what)
        {
            if (elements > Array.MaxLength)
            {
                throw Error(field, $"the model is impossibly large: {what} would hold {elements} values, more than the {Array.MaxLength} one array can hold");
            }
        }

        private int IntValue(JsonElement e, string field)
        {
            if (e.ValueKind != JsonValueKind.Number) throw Error(field, $"expected an integer, found {Kind(e)} {e.GetRawText()}");
            if (e.TryGetInt32(out int v)) return v;
            if (e.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) < int.MaxValue) return (int)d;
            throw Error(field, $"expected an integer, found {e.GetRawText()}");
        }
    }
}
