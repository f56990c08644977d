using PureHDF;
using PureHDF.Selections;

namespace Elmo.Core;

/// <summary>
/// bilm-tf's <c>dump_token_embeddings</c>: the context-independent token representation (char CNN → highway →
/// projection) of every word of a vocabulary file, written as dataset <c>embedding</c> of shape
/// <c>(V, projection_dim)</c>, float32, row i for line i.
/// </summary>
/// <remarks>
/// The vocabulary is read as bilm-tf's <c>Vocabulary</c> reads it: one word per line, surrounding white space
/// stripped, the line <c>!!!MAXTERMID</c> skipped; <c>&lt;S&gt;</c> and <c>&lt;/S&gt;</c> get the sentence-boundary
/// character ids. Words are embedded in chunks written in place, so memory stays bounded for any vocabulary size.
/// </remarks>
public static class TokenEmbeddingDump
{
    /// <summary>The dataset name bilm-tf writes.</summary>
    public const string DatasetName = "embedding";

    /// <summary>The word bilm-tf's vocabulary reader skips.</summary>
    public const string MaxTermIdMarker = "!!!MAXTERMID";

    /// <summary>Embeds every word of <paramref name="vocabularyPath"/> and writes <paramref name="outputPath"/> atomically.</summary>
    /// <param name="model">The model.</param>
    /// <param name="vocabularyPath">One word per line.</param>
    /// <param name="outputPath">The HDF5 file to write.</param>
    /// <param name="chunkSize">Words embedded at a time.</param>
    /// <param name="threads">Threads (default: all processors).</param>
    /// <param name="progress">Called after each chunk with (words done, words in total).</param>
    /// <param name="cancellationToken">Stops between chunks; no output is left behind.</param>
    /// <returns>The number of words.</returns>
    /// <exception cref="ElmoInputException">The vocabulary file does not exist.</exception>
    /// <exception cref="ElmoOutputException">The output cannot be written.</exception>
    public static long Run(ElmoModel model, string vocabularyPath, string outputPath, int chunkSize = 4096, int? threads = null, Action<long, long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocabularyPath);
        ArgumentNullException.ThrowIfNull(outputPath);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        if (!File.Exists(vocabularyPath))
        {
            throw new ElmoInputException(Directory.Exists(vocabularyPath) ? $"Vocabulary '{vocabularyPath}' is a directory." : $"Vocabulary file '{vocabularyPath}' does not exist.") { FilePath = vocabularyPath };
        }

        long words = Words(vocabularyPath).LongCount();
        int dim = model.Options.Lstm.ProjectionDim;
        var dataset = new H5Dataset<float[]>(fileDims: [(ulong)words, (ulong)dim]);
        var file = new H5File { [DatasetName] = dataset };
        progress?.Invoke(0, words);
        AtomicFile.Write(outputPath, tmp =>
        {
            using var writer = file.BeginWrite(tmp);
            long row = 0;
            foreach (var chunk in Words(vocabularyPath).Chunk(chunkSize))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (row + chunk.Length > words) throw Changed(vocabularyPath);
                var vectors = model.EmbedTokens(chunk, threads);
                writer.Write(dataset, vectors, fileSelection: new HyperslabSelection(2, [(ulong)row, 0], [(ulong)chunk.Length, (ulong)dim]));
                row += chunk.Length;
                progress?.Invoke(row, words);
            }
            if (row != words) throw Changed(vocabularyPath);
        });
        return words;
    }

    /// <summary>The words of a vocabulary file, as bilm-tf reads them.</summary>
    /// <param name="path">One word per line.</param>
    /// <returns>The words in file order.</returns>
    public static IEnumerable<string> Words(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Iterate(path);

        static IEnumerable<string> Iterate(string path)
        {
            using var reader = new StreamReader(path, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
            string? line;
            while ((line = reader.ReadLine()) is not null)
            {
                string word = InputReader.StripPython(line);
                if (word != MaxTermIdMarker) yield return word;
            }
        }
    }

    private static ElmoInputException Changed(string path) =>
        new($"Vocabulary file '{path}' changed while it was being embedded; no output was written.") { FilePath = path };
}
