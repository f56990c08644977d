using System.Diagnostics;
using System.Globalization;
using PureHDF;
using PureHDF.Selections;

namespace Elmo.Core;

/// <summary>
/// Embeds a corpus batch by batch and writes it as AllenNLP's <c>elmo</c> command did: one float32 dataset per
/// sentence keyed <c>"0"…"n−1"</c> (or by sentence text), plus <c>sentence_to_index</c>, a one-element
/// variable-length string dataset holding the JSON map sentence → key.
/// </summary>
/// <remarks>
/// The input is read twice: a first pass counts the sentences and tokens and checks every line (blank lines,
/// JSON errors, duplicate keys) before anything is computed; the second streams batches through the biLM and
/// writes each dataset into its place in a file whose layout was declared up front, straight from the batch's
/// output (no per-sentence copy). Memory holds the model, one window of batches, one output array sized for the
/// largest batch and reused by every batch, and per sentence its token count and its entry in the HDF5 index (and, unless
/// <see cref="EmbedSettings.ForgetSentences"/>, the <c>sentence_to_index</c> map, which is one string by
/// definition). The file is written under a temporary name and renamed at the end: a failed or cancelled run
/// leaves no partial output and keeps an existing file.
/// </remarks>
public static class CorpusEmbedder
{
    /// <summary>The name of the sentence → key map dataset.</summary>
    public const string SentenceToIndex = "sentence_to_index";

    /// <summary>The per-sentence arrays for one batch, in the shape of <paramref name="layout"/>.</summary>
    /// <param name="output">The batch's biLM output (with boundaries).</param>
    /// <param name="layout">What to produce.</param>
    /// <param name="mix">The mix for <see cref="OutputLayout.Mix"/>.</param>
    /// <returns>One (data, shape) pair per batch row.</returns>
    public static (float[] Data, int[] Shape)[] Shape(BiLmOutput output, OutputLayout layout, ScalarMix? mix)
    {
        ArgumentNullException.ThrowIfNull(output);
        int layers = output.LayerCount, d = output.Dim, skip = output.IncludesBoundaries ? 1 : 0;
        float[]? mixed = null;
        if (layout == OutputLayout.Mix)
        {
            mixed = (mix ?? throw new ArgumentException("A mix is required for OutputLayout.Mix.", nameof(mix))).Mix(output);
        }
        var result = new (float[], int[])[output.BatchSize];
        for (int b = 0; b < output.BatchSize; b++)
        {
            int n = output.Lengths[b] - 2 * skip;
            switch (layout)
            {
                case OutputLayout.All:
                    result[b] = (output.SentenceLayers(b), [layers, n, d]);
                    break;
                case OutputLayout.Top:
                    result[b] = (output.SentenceLayers(b).AsSpan((layers - 1) * n * d, n * d).ToArray(), [n, d]);
                    break;
                case OutputLayout.Average:
                    var avg = new float[n * d];
                    AverageLayers(output, b, avg);
                    result[b] = (avg, [n, d]);
                    break;
                default:
                    result[b] = (mixed.AsSpan((b * output.Timesteps + skip) * d, n * d).ToArray(), [n, d]);
                    break;
            }
        }
        return result;
    }

    /// <summary>The shape of one sentence's dataset.</summary>
    /// <param name="options">The model.</param>
    /// <param name="layout">What is written.</param>
    /// <param name="tokens">The sentence's tokens.</param>
    /// <returns><c>(layers, tokens, dim)</c> for <see cref="OutputLayout.All"/>, else <c>(tokens, dim)</c>.</returns>
    public static ulong[] DatasetShape(ElmoOptions options, OutputLayout layout, int tokens)
    {
        ArgumentNullException.ThrowIfNull(options);
        return layout == OutputLayout.All
            ? [(ulong)options.OutputLayers, (ulong)tokens, (ulong)options.OutputDim]
            : [(ulong)tokens, (ulong)options.OutputDim];
    }

    /// <summary>Embeds sentences held in memory and writes <paramref name="outputPath"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="sentences">The input sentences, in order.</param>
    /// <param name="outputPath">The HDF5 file to write (atomically).</param>
    /// <param name="settings">Layout, batching and state mode.</param>
    /// <param name="progress">Called once the input is counted, then after each batch.</param>
    /// <param name="cancellationToken">Stops between batches; no output is left behind.</param>
    /// <returns>The final progress (sentences, tokens, elapsed).</returns>
    /// <exception cref="ElmoInputException">Duplicate or unusable keys with <see cref="EmbedSettings.UseSentenceKeys"/>.</exception>
    /// <exception cref="ElmoOutputException">The output cannot be written.</exception>
    public static EmbedProgress Run(ElmoModel model, IReadOnlyList<InputSentence> sentences, string outputPath, EmbedSettings settings, Action<EmbedProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Run(model, CorpusInput.FromSentences(sentences), outputPath, settings, progress, cancellationToken);

    /// <summary>Embeds <paramref name="input"/> and writes <paramref name="outputPath"/>, streaming.</summary>
    /// <param name="model">The model.</param>
    /// <param name="input">The input (read twice).</param>
    /// <param name="outputPath">The HDF5 file to write (atomically).</param>
    /// <param name="settings">Layout, batching and state mode.</param>
    /// <param name="progress">Called once the input is counted, then after each batch.</param>
    /// <param name="cancellationToken">Stops between batches; no output is left behind.</param>
    /// <returns>The final progress (sentences, tokens, elapsed).</returns>
    /// <exception cref="ElmoInputException">A bad line (blank, bad JSON), duplicate or unusable keys with
    /// <see cref="EmbedSettings.UseSentenceKeys"/>, or an input that changed between the two passes.</exception>
    /// <exception cref="ElmoOutputException">The output cannot be written.</exception>
    public static EmbedProgress Run(ElmoModel model, CorpusInput input, string outputPath, EmbedSettings settings, Action<EmbedProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(outputPath);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.BatchSize, 1, nameof(settings.BatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.SortWindowBatches, 1, nameof(settings.SortWindowBatches));
        if (settings.Layout == OutputLayout.Mix && settings.Mix is null) throw new ArgumentException("A mix is required for OutputLayout.Mix.", nameof(settings));
        // The output policy before any work: an output that cannot be written, or is the input itself, fails now.
        AtomicFile.Check(outputPath, [input.FilePath is string source ? new InputFile(source, "the input") : null]);
        // The session first: in warm mode this may compute the model's built-in warm state once, which is set-up, not embedding.
        var session = model.CreateSession(settings.Mode, settings.WarmState, settings.Threads);
        var watch = Stopwatch.StartNew();

        // Pass 1: count, check every line and key, build the map; nothing is computed or written yet.
        var scan = Scan(input, settings, cancellationToken);
        long totalTokens = scan.TotalTokens;
        int count = scan.Lengths.Count;
        progress?.Invoke(new EmbedProgress(0, count, 0, watch.Elapsed, totalTokens));

        // Declare every dataset with its final shape, so each can be written in place as its batch completes.
        var file = new H5File();
        var datasets = new H5Dataset<float[]>[count];
        var index = scan.Keys;
        for (int i = 0; i < count; i++)
        {
            datasets[i] = new H5Dataset<float[]>(fileDims: DatasetShape(model.Options, settings.Layout, scan.Lengths[i]));
            file[index?[i] ?? i.ToString(CultureInfo.InvariantCulture)] = datasets[i];
        }
        if (scan.SentenceToIndex is not null)
        {
            file[SentenceToIndex] = new[] { PythonJson.Object(scan.SentenceToIndex) };
        }

        bool sort = settings.SortByLength && settings.Mode != StateMode.Stateful && !(settings.Layout == OutputLayout.Mix && settings.Mix!.LayerNorm);
        int window = sort ? settings.BatchSize * settings.SortWindowBatches : settings.BatchSize;
        long done = 0, tokens = 0;

        // One output array for every batch instead of a new padded output per batch: each output is written out
        // before the next batch runs, and a new array per batch would leave the earlier ones as large-object garbage.
        // The array is not cleared between batches: the forward pass writes only the rows' positions and the writes
        // below read only those, so pages that only padding covers are never touched and stay out of resident
        // memory. Every batch is laid out with the corpus's longest row, so that, rows being sorted by length,
        // a batch's positions fall on pages a later, longer batch touches anyway: resident is about what the rows
        // of the longest batch cover (35 MB of a 69 MB padded output for the longest batch of 128 sentences of the
        // bench corpus, original model). A corpus whose longest row cannot be laid out so in one array runs without
        // the shared array (each batch allocates its own, or is refused, as a single call would be).
        int timesteps = count == 0 ? 0 : scan.Lengths.Max() + 2;
        long rowValues = (long)Math.Min(settings.BatchSize, count) * timesteps * model.Options.OutputDim;
        bool share = rowValues > 0 && model.Options.OutputLayers * rowValues <= Array.MaxLength;
        var outputBuffer = share ? new float[model.Options.OutputLayers * rowValues] : null;
        var mixBuffer = share && settings.Layout == OutputLayout.Mix ? new float[rowValues] : null;
        if (!share) timesteps = 0;
        float[]? average = null;

        // The GC's budget grows with the weights (hundreds of MB of large arrays), so during a run it would not
        // collect: every batch's temporaries (character ids, LSTM states, the writer's bookkeeping) and what
        // loading and pass 1 left would all stay resident. A full collection now and after each batch lets each
        // batch reuse the previous one's memory; it costs a few milliseconds (the weights hold no references).
        GC.Collect();

        AtomicFile.Write(outputPath, tmp =>
        {
            // Own the stream: if the writer's final flush fails (a full disk), the file handle is still closed.
            using var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
            using var writer = file.BeginWrite(stream);
            var pending = new List<(int Index, InputSentence Sentence)>(window);
            int position = 0;
            foreach (var sentence in input.Read())
            {
                if (position >= count || sentence.Tokens.Count != scan.Lengths[position])
                {
                    throw Changed(input, sentence.LineNumber);
                }
                pending.Add((position++, sentence));
                if (pending.Count == window) Flush();
            }
            if (position != count) throw Changed(input, null);
            Flush();

            void Flush()
            {
                var order = sort ? pending.OrderBy(p => p.Sentence.Tokens.Count).ToList() : pending;
                for (int start = 0; start < order.Count; start += settings.BatchSize)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var batch = order.Skip(start).Take(settings.BatchSize).ToList();
                    var output = session.Run(batch.Select(p => p.Sentence.Tokens).ToList(), outputBuffer, timesteps);
                    float[]? mixed = null;
                    if (settings.Layout == OutputLayout.Mix)
                    {
                        int mixValues = output.BatchSize * output.Timesteps * output.Dim;
                        mixed = mixBuffer is not null && mixBuffer.Length >= mixValues ? mixBuffer : new float[mixValues];
                        settings.Mix!.Mix(output.Layers.AsSpan(0, (int)output.ValueCount), output.Mask, output.Dim, mixed.AsSpan(0, mixValues));
                        CheckFinite(settings.Mix, mixed.AsSpan(0, mixValues));
                    }
                    for (int b = 0; b < batch.Count; b++)
                    {
                        Write(writer, datasets[batch[b].Index], output, b, settings.Layout, mixed, ref average);
                        tokens += batch[b].Sentence.Tokens.Count;
                    }
                    GC.Collect();
                    done += batch.Count;
                    progress?.Invoke(new EmbedProgress(done, count, tokens, watch.Elapsed, totalTokens));
                }
                pending.Clear();
            }
        });
        return new EmbedProgress(count, count, tokens, watch.Elapsed, totalTokens);
    }

    /// <summary>
    /// The layers are finite (the weights are checked at load), so a non-finite mix is gamma overflowing float32
    /// (<c>--gamma 1e38</c>): refused rather than written as infinities.
    /// </summary>
    private static void CheckFinite(ScalarMix mix, ReadOnlySpan<float> mixed)
    {
        float largest = System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(mixed);
        if (float.IsFinite(largest)) return;
        throw new ElmoInputException(string.Create(CultureInfo.InvariantCulture,
            $"The scalar mix overflows float32: gamma {mix.Gamma:R} times the layers gives {largest} (float32 reaches about ±3.4e38); no output was written. Use a smaller gamma."));
    }

    /// <summary>
    /// Writes row <paramref name="row"/> of a batch into its dataset straight from the batch's padded output (or its
    /// mix), through a memory selection: no per-sentence copy. The values and their order are those of
    /// <see cref="Shape"/>.
    /// </summary>
    private static void Write(H5NativeWriter writer, H5Dataset<float[]> dataset, BiLmOutput output, int row, OutputLayout layout, float[]? mixed, ref float[]? average)
    {
        int layers = output.LayerCount, d = output.Dim, skip = output.IncludesBoundaries ? 1 : 0;
        int n = output.Lengths[row] - 2 * skip;
        if (n == 0) return;
        ulong values = (ulong)n * (ulong)d;
        ulong layerStride = (ulong)output.BatchSize * (ulong)output.Timesteps * (ulong)d;
        ulong first = ((ulong)row * (ulong)output.Timesteps + (ulong)skip) * (ulong)d;
        switch (layout)
        {
            case OutputLayout.All:
                writer.Write(dataset, output.Layers, memorySelection: new HyperslabSelection(first, layerStride, (ulong)layers, values));
                break;
            case OutputLayout.Top:
                writer.Write(dataset, output.Layers, memorySelection: new HyperslabSelection(first + (ulong)(layers - 1) * layerStride, values));
                break;
            case OutputLayout.Average:
                if (average is null || average.Length < (int)values) average = new float[values];
                AverageLayers(output, row, average.AsSpan(0, (int)values));
                writer.Write(dataset, average, memorySelection: new HyperslabSelection(0, values));
                break;
            default:
                writer.Write(dataset, mixed!, memorySelection: new HyperslabSelection(first, values));
                break;
        }
    }

    /// <summary>The mean over the layers of row <paramref name="row"/>'s tokens (boundaries left out) into <paramref name="destination"/> (tokens × dim).</summary>
    internal static void AverageLayers(BiLmOutput output, int row, Span<float> destination)
    {
        int layers = output.LayerCount, d = output.Dim, skip = output.IncludesBoundaries ? 1 : 0;
        long layerStride = (long)output.BatchSize * output.Timesteps * d;
        long first = ((long)row * output.Timesteps + skip) * d;
        destination.Clear();
        for (int l = 0; l < layers; l++)
        {
            var layer = output.Layers.AsSpan((int)(first + l * layerStride), destination.Length);
            for (int i = 0; i < destination.Length; i++) destination[i] += layer[i];
        }
        for (int i = 0; i < destination.Length; i++) destination[i] /= layers;
    }

    private sealed record ScanResult(List<int> Lengths, long TotalTokens, List<string>? Keys, Dictionary<string, string>? SentenceToIndex);

    private static ScanResult Scan(CorpusInput input, EmbedSettings settings, CancellationToken cancellationToken)
    {
        var lengths = new List<int>();
        long total = 0;
        List<string>? keys = settings.UseSentenceKeys ? [] : null;
        var firstLine = settings.UseSentenceKeys ? new Dictionary<string, long>(StringComparer.Ordinal) : null;
        var map = !settings.UseSentenceKeys && !settings.ForgetSentences ? new Dictionary<string, string>(StringComparer.Ordinal) : null;
        foreach (var s in input.Read())
        {
            if ((lengths.Count & 0xFFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            if (keys is not null)
            {
                CheckKey(input, s);
                if (firstLine!.TryGetValue(s.Text, out long earlier))
                {
                    throw new ElmoInputException(
                        $"Input '{input.Name}', line {s.LineNumber} repeats the sentence of line {earlier} (\"{Shorten(s.Text)}\"); --use-sentence-keys needs every sentence to be unique (leave it out to key by line index).")
                    {
                        FilePath = input.Name,
                        LineNumber = s.LineNumber,
                    };
                }
                firstLine[s.Text] = s.LineNumber;
                keys.Add(s.Text);
            }
            else if (map is not null)
            {
                // A repeated sentence maps to its last index, as AllenNLP's dict does (first position, last value).
                map[s.Text] = lengths.Count.ToString(CultureInfo.InvariantCulture);
            }
            lengths.Add(s.Tokens.Count);
            total += s.Tokens.Count;
        }
        return new ScanResult(lengths, total, keys, map);
    }

    /// <summary>HDF5 link names cannot be empty or contain '/' (h5py would create groups) or NUL, and "." names the group itself.</summary>
    private static void CheckKey(CorpusInput input, InputSentence s)
    {
        if (s.Text.Length == 0 || s.Text.Contains('/') || s.Text.Contains('\0') || s.Text == ".")
        {
            throw new ElmoInputException(
                $"Input '{input.Name}', line {s.LineNumber}: the sentence \"{Shorten(s.Text)}\" cannot be an HDF5 dataset name (it is empty, or '/' separates groups, or '.' is the group itself); leave out --use-sentence-keys to key by line index.")
            {
                FilePath = input.Name,
                LineNumber = s.LineNumber,
            };
        }
    }

    private static ElmoInputException Changed(CorpusInput input, long? line) =>
        new($"Input '{input.Name}' changed while it was being embedded{(line is null ? "" : $" (at line {line})")}; no output was written.") { FilePath = input.Name, LineNumber = line };

    private static string Shorten(string s) => s.Length <= 60 ? s : s[..57] + "...";
}
