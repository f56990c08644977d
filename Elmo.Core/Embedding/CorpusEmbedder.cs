using System.Diagnostics;
using System.Text.Json;
using PureHDF;

namespace Elmo.Core;

/// <summary>Progress of a bulk embedding run.</summary>
/// <param name="Sentences">Sentences embedded so far.</param>
/// <param name="TotalSentences">Sentences in the input.</param>
/// <param name="Tokens">Tokens embedded so far.</param>
/// <param name="Elapsed">Time since the start of embedding.</param>
public readonly record struct EmbedProgress(long Sentences, long TotalSentences, long Tokens, TimeSpan Elapsed);

/// <summary>
/// Embeds a list of sentences batch by batch and writes them as AllenNLP's <c>elmo</c> command did: one
/// float32 dataset per sentence keyed <c>"0"…"n−1"</c> (or by sentence text), plus <c>sentence_to_index</c>.
/// The file is written to a temporary name and renamed at the end.
/// </summary>
public static class CorpusEmbedder
{
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
                    var all = output.SentenceLayers(b);
                    var avg = new float[n * d];
                    for (int l = 0; l < layers; l++)
                    {
                        for (int i = 0; i < n * d; i++) avg[i] += all[l * n * d + i];
                    }
                    for (int i = 0; i < avg.Length; i++) avg[i] /= layers;
                    result[b] = (avg, [n, d]);
                    break;
                default:
                    result[b] = (mixed.AsSpan((b * output.Timesteps + skip) * d, n * d).ToArray(), [n, d]);
                    break;
            }
        }
        return result;
    }

    /// <summary>Embeds <paramref name="sentences"/> and writes <paramref name="outputPath"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="sentences">The input sentences, in order.</param>
    /// <param name="outputPath">The HDF5 file to write (atomically).</param>
    /// <param name="settings">Layout, batching and state mode.</param>
    /// <param name="progress">Called after each batch.</param>
    /// <param name="cancellationToken">Stops between batches; no output is left behind.</param>
    /// <returns>The final progress (sentences, tokens, elapsed).</returns>
    /// <exception cref="ElmoInputException">Duplicate sentences with <see cref="EmbedSettings.UseSentenceKeys"/>.</exception>
    /// <exception cref="ElmoOutputException">The output cannot be written.</exception>
    public static EmbedProgress Run(ElmoModel model, IReadOnlyList<InputSentence> sentences, string outputPath, EmbedSettings settings, Action<EmbedProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sentences);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.BatchSize, 1, nameof(settings.BatchSize));

        var keys = new string[sentences.Count];
        var sentenceToIndex = new Dictionary<string, string>();
        for (int i = 0; i < sentences.Count; i++)
        {
            var s = sentences[i];
            if (settings.UseSentenceKeys)
            {
                if (sentenceToIndex.ContainsKey(s.Text))
                {
                    throw new ElmoInputException($"Line {s.LineNumber} repeats the sentence \"{Shorten(s.Text)}\"; --use-sentence-keys needs every sentence to be unique.") { LineNumber = s.LineNumber };
                }
                keys[i] = s.Text;
                sentenceToIndex[s.Text] = s.Text;
            }
            else
            {
                keys[i] = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                sentenceToIndex[s.Text] = keys[i]; // a repeated sentence maps to its last index, as AllenNLP's dict does
            }
        }

        var session = model.CreateSession(settings.Mode, settings.WarmState, settings.Threads);
        var file = new H5File();
        var watch = Stopwatch.StartNew();
        long tokens = 0;
        for (int start = 0; start < sentences.Count; start += settings.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(settings.BatchSize, sentences.Count - start);
            var batch = new IReadOnlyList<string>[count];
            for (int b = 0; b < count; b++)
            {
                batch[b] = sentences[start + b].Tokens;
                tokens += batch[b].Count;
            }
            var shaped = Shape(session.Run(batch), settings.Layout, settings.Mix);
            for (int b = 0; b < count; b++)
            {
                file[keys[start + b]] = new H5Dataset(shaped[b].Data, fileDims: shaped[b].Shape.Select(x => (ulong)x).ToArray());
            }
            progress?.Invoke(new EmbedProgress(start + count, sentences.Count, tokens, watch.Elapsed));
        }

        if (!settings.ForgetSentences)
        {
            file["sentence_to_index"] = new[] { JsonSerializer.Serialize(sentenceToIndex) };
        }
        AtomicFile.Write(outputPath, tmp => file.Write(tmp));
        return new EmbedProgress(sentences.Count, sentences.Count, tokens, watch.Elapsed);
    }

    private static string Shorten(string s) => s.Length <= 60 ? s : s[..57] + "...";
}
