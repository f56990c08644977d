using System.Diagnostics;
using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace Elmo.Core;

/// <summary>
/// Embeds a corpus batch by batch and writes it as AllenNLP's <c>elmo</c> command did: one float32 dataset per
/// sentence keyed <c>"0"…"n−1"</c> (or by sentence text), plus <c>sentence_to_index</c>, a one-element
/// variable-length string dataset holding the JSON map sentence → key.
/// </summary>
/// <remarks>
/// The input is read twice. A first pass checks every line and every dataset name and measures the output before
/// anything is computed; the file's layout is then fixed (<see cref="CorpusFileLayout"/>). The second pass streams
/// batches through the biLM and writes each sentence's values straight from the batch output to their place in the
/// file, with each dataset's header and the <c>sentence_to_index</c> JSON in input order (<see cref="CorpusFileWriter"/>).
/// Nothing is held per sentence but, for <c>sentence_to_index</c>, a hash and an index per distinct sentence
/// (about 40 bytes) and, with <see cref="EmbedSettings.UseSentenceKeys"/>, the names themselves; so time is linear in
/// the input and memory holds the model, one window of batches and one batch's output, bounded by
/// <see cref="EmbedSettings.MaxBatchBytes"/>. The file is written under a temporary name and renamed at the end: a
/// failed or cancelled run leaves no partial output and keeps an existing file.
/// </remarks>
public static class CorpusEmbedder
{
    /// <summary>The name of the sentence → key map dataset.</summary>
    public const string SentenceToIndex = CorpusFileLayout.SentenceToIndexName;

    /// <summary>
    /// The largest local heap of dataset names a file may have (2 GiB − 64 bytes): libhdf5 reads the heap of a group whole
    /// when it opens it, and PureHDF (and .NET readers generally) read it into one array. With
    /// <see cref="EmbedSettings.UseSentenceKeys"/> the names are the sentences, so this caps their total UTF-8 size.
    /// </summary>
    public const long MaxNameHeapBytes = 0x7FFFFFC0;

    /// <summary>The largest <c>sentence_to_index</c> JSON: a variable-length HDF5 element records its length in 32 bits.</summary>
    public const long MaxSentenceToIndexBytes = uint.MaxValue;

    /// <summary>Bytes allocated between two full garbage collections of a run (see <see cref="Run(ElmoModel, CorpusInput, string, EmbedSettings, Action{EmbedProgress}?, CancellationToken)"/>).</summary>
    private const long CollectionBudget = 4 << 20;

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
    /// <see cref="EmbedSettings.UseSentenceKeys"/>, an output over the format's limits, or an input that changed between the two passes.</exception>
    /// <exception cref="ElmoOutputException">The output cannot be written.</exception>
    public static EmbedProgress Run(ElmoModel model, CorpusInput input, string outputPath, EmbedSettings settings, Action<EmbedProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(outputPath);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.BatchSize, 1, nameof(settings.BatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.SortWindowBatches, 1, nameof(settings.SortWindowBatches));
        if (settings.MaxBatchBytes is <= 0) throw new ArgumentOutOfRangeException(nameof(settings), settings.MaxBatchBytes, "MaxBatchBytes must be positive, or null for no cap.");
        if (settings.Layout == OutputLayout.Mix && settings.Mix is null) throw new ArgumentException("A mix is required for OutputLayout.Mix.", nameof(settings));
        settings.Shard?.Validate();
        if (settings.Shard is not null && settings.Mode == StateMode.Stateful)
        {
            throw new ArgumentException("A stateful run cannot be split: each sentence's vectors depend on every batch before it, so parts would differ from one run.", nameof(settings));
        }
        if (settings.Shard is not null && settings.Mix is { LayerNorm: true })
        {
            throw new ArgumentException("A layer-normalised mix cannot be split: it normalises over each batch, so the values depend on which sentences share one, and parts would differ from one run.", nameof(settings));
        }
        // The output policy before any work: an output that cannot be written, or is the input itself, fails now.
        AtomicFile.Check(outputPath, [input.FilePath is string source ? new InputFile(source, "the input") : null]);
        if (settings.Resume is null)
        {
            Checkpoint.RefuseLeftovers(outputPath);
        }
        else if (outputPath == AtomicFile.StandardOutput || FileNode.Of(outputPath).Kind is not (FileKind.Regular or FileKind.Missing))
        {
            throw new ElmoOutputException($"Cannot write '{outputPath}' resumably: a resumable run builds its output in a file beside it, so OUTPUT must be a regular file (or not exist yet).") { FilePath = outputPath };
        }
        // The session first: in warm mode this may compute the model's built-in warm state once, which is set-up, not embedding.
        if (settings.ParallelBatches is < 1) throw new ArgumentOutOfRangeException(nameof(settings), settings.ParallelBatches, "ParallelBatches must be at least 1, or null to choose.");
        var parallel = settings.Mode == StateMode.Stateful
            ? new BatchParallelism(1, settings.Threads ?? Environment.ProcessorCount)
            : BatchParallelism.Choose(settings.Threads ?? Environment.ProcessorCount, settings.SortByLength ? settings.SortWindowBatches : 1, settings.ParallelBatches);
        var sessions = new ElmoSession[parallel.Workers];
        for (int w = 0; w < sessions.Length; w++)
        {
            sessions[w] = model.CreateSession(settings.Mode, settings.WarmState, parallel.ThreadsPerWorker);
            sessions[w].MaxBatchBytes = settings.MaxBatchBytes;
        }
        var watch = Stopwatch.StartNew();

        // Pass 1: check every line and name, measure the output; nothing is computed or written yet.
        var options = model.Options;
        int rank = settings.Layout == OutputLayout.All ? 3 : 2;
        int layers = rank == 3 ? options.OutputLayers : 1;
        var plan = CorpusScanner.Scan(input, settings, (long)layers * options.OutputDim * sizeof(float), cancellationToken);
        var shape = plan.Keys is { } keys
            ? new CorpusFileShape(plan.Count, plan.First, rank, plan.DataBytes, null, keys.HeapBytes)
            : CorpusFileShape.ByIndex(plan.Count, plan.First, rank, plan.DataBytes, plan.Index?.JsonBytes);
        CheckLimits(input, shape);
        var layout = new CorpusFileLayout(shape);
        var identity = settings.Shard is not null || settings.Resume is not null
            ? RunIdentity.Of(model, input, settings, plan.Fingerprint, plan.InputSentences, settings.Mode == StateMode.Warm ? settings.WarmState ?? model.WarmState : null)
            : null;
        var attributes = settings.Shard is { } part ? PartFile.Attributes(part, identity!, shape) : [];
        progress?.Invoke(new EmbedProgress(0, plan.Count, 0, watch.Elapsed, plan.Tokens));

        long tokens = 0;
        if (settings.Resume is { } resume)
        {
            var checkpoint = Checkpoint.For(outputPath, resume);
            checkpoint.Load(outputPath, identity!, settings.Shard, shape);
            var from = checkpoint.Resumed ?? default;
            SafeFileHandle file;
            try
            {
                file = File.OpenHandle(checkpoint.WorkingPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e)
            {
                throw new ElmoOutputException($"Cannot write '{outputPath}': its working file '{checkpoint.WorkingPath}' cannot be opened, or another run is writing it ({e.Message}).", e) { FilePath = outputPath };
            }
            try
            {
                using (file)
                {
                    if (checkpoint.Resumed is null) RandomAccess.SetLength(file, 0);
                    var writer = new CorpusFileWriter(file, layout, layers, options.OutputDim, from.Done, from.JsonBytes);
                    var batches = new BatchWriter(sessions, writer, settings, plan, p =>
                    {
                        tokens = p.Tokens;
                        progress?.Invoke(p with { Elapsed = watch.Elapsed });
                    }, cancellationToken);
                    batches.Skip(from.Done, from.Tokens);
                    // Stateful: the states the interrupted run's batches left, saved with its checkpoint, carry on.
                    if (settings.Mode == StateMode.Stateful) sessions[0].RestoreCarried(checkpoint.ResumedState(options.Lstm, outputPath));
                    tokens = from.Tokens;
                    GC.Collect();
                    EmbedPass(input, plan, writer, batches, new ResumeState(checkpoint, file, identity!, settings, shape, from, settings.Mode == StateMode.Stateful ? sessions[0] : null));
                    writer.Finish(plan.Keys ?? (IGroupNames)new IndexNames(plan.First, plan.Count), attributes, checksum: settings.Shard is not null);
                    RandomAccess.FlushToDisk(file);
                }
            }
            catch when (!File.Exists(checkpoint.RecordPath))
            {
                // Stopped (cancelled, failed) before its first checkpoint: nothing to resume, so nothing is left.
                File.Delete(checkpoint.WorkingPath);
                throw;
            }
            TemporaryFiles.MoveKeptIntoPlace(checkpoint.WorkingPath, FileNode.Of(outputPath).FullPath);
            checkpoint.Remove();
            return new EmbedProgress(plan.Count, plan.Count, tokens, watch.Elapsed, plan.Tokens) { ResumedSentences = from.Done, ResumedTokens = from.Tokens, Checkpoints = checkpoint.Taken };
        }
        AtomicFile.Write(outputPath, tmp =>
        {
            using var file = File.OpenHandle(tmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
            var writer = new CorpusFileWriter(file, layout, layers, options.OutputDim);
            var batches = new BatchWriter(sessions, writer, settings, plan, p =>
            {
                tokens = p.Tokens;
                progress?.Invoke(p with { Elapsed = watch.Elapsed });
            }, cancellationToken);
            // What loading and pass 1 left would stay resident: the GC's budget has grown with the weights, so it
            // would not collect for a long while. One full collection before the first batch.
            GC.Collect();
            EmbedPass(input, plan, writer, batches);
            writer.Finish(plan.Keys ?? (IGroupNames)new IndexNames(plan.First, plan.Count), attributes, checksum: settings.Shard is not null);
        });
        return new EmbedProgress(plan.Count, plan.Count, tokens, watch.Elapsed, plan.Tokens);
    }

    /// <summary>
    /// For a run that is not resumable: refuses to start when an interrupted resumable run of the same output left a
    /// checkpoint beside it, with one line that says how to resume it (<c>--resume</c>) or discard it.
    /// </summary>
    /// <param name="outputPath">The output.</param>
    /// <exception cref="ElmoOutputException">A checkpoint is there.</exception>
    public static void RefuseLeftovers(string outputPath)
    {
        ArgumentNullException.ThrowIfNull(outputPath);
        Checkpoint.RefuseLeftovers(outputPath);
    }

    /// <summary>
    /// The layers are finite (the weights are checked at load), so a non-finite mix is gamma overflowing float32
    /// (<c>--gamma 1e38</c>): refused rather than written as infinities.
    /// </summary>
    internal static void CheckFinite(ScalarMix mix, ReadOnlySpan<float> mixed)
    {
        float largest = System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(mixed);
        if (float.IsFinite(largest)) return;
        throw new ElmoInputException(string.Create(CultureInfo.InvariantCulture,
            $"The scalar mix overflows float32: gamma {mix.Gamma:R} times the layers gives {largest} (float32 reaches about ±3.4e38); no output was written. Use a smaller gamma."));
    }

    /// <summary>Pass 2: reads the input again, appends each sentence's header and JSON entry, and embeds it in its window.</summary>
    private static void EmbedPass(CorpusInput input, CorpusPlan plan, CorpusFileWriter writer, BatchWriter batches, ResumeState? resume = null)
    {
        var fingerprint = new InputFingerprint();
        long i = 0, local = 0, offset = 0, skippedJson = 0, tokens = 0;
        long skip = resume?.From.Done ?? 0;
        foreach (var s in input.Read(fingerprint))
        {
            if (i >= plan.First && i < plan.End && local < skip)
            {
                // Done by the interrupted run: the map and the offsets move on as if it had been embedded now.
                skippedJson += plan.Index?.SkipEntry(s.Text) ?? 0;
                offset += writer.DataBytes(s.Tokens.Count);
                tokens += s.Tokens.Count;
                if (++local == skip && (offset != resume!.From.DataOffset || skippedJson != resume.From.JsonBytes || tokens != resume.From.Tokens))
                {
                    throw new ElmoInputException($"Cannot resume: the working file '{resume.Checkpoint.WorkingPath}' does not match the input read now; delete it and '{resume.Checkpoint.RecordPath}' to start over.") { FilePath = input.Name };
                }
            }
            else if (i >= plan.First && i < plan.End)
            {
                int n = s.Tokens.Count;
                if (offset + writer.DataBytes(n) > plan.DataBytes) throw CorpusScanner.Changed(input, s.LineNumber);
                writer.AppendHeader(offset, n);
                plan.Index?.WriteEntry(s.Text, writer);
                batches.Add(local, s, offset);
                offset += writer.DataBytes(n);
                tokens += n;
                local++;
                // Where the values depend on which sentences share a batch (stateful, a layer-normalised mix), only
                // between whole batches, so that a resumed run makes the same batches.
                bool wholeBatches = resume is not null && (resume.Settings.Mode == StateMode.Stateful || resume.Settings.Mix is { LayerNorm: true });
                if (resume is not null && resume.Checkpoint.Due(local) && (!wholeBatches || local % resume.Settings.BatchSize == 0))
                {
                    // Everything added so far is embedded and written, then on disk, then recorded (with the carried states, stateful).
                    batches.Flush();
                    writer.FlushAppends();
                    resume.Checkpoint.Save(resume.File, new Checkpoint.Progress(local, offset, writer.JsonWritten, tokens), resume.Identity, resume.Settings.Shard, resume.Shape, resume.Stateful?.CarriedState);
                }
            }
            i++;
        }
        batches.Flush();
        plan.Index?.WriteEnd(writer);
        if (local != plan.Count || offset != plan.DataBytes || fingerprint.Bytes != plan.Fingerprint.Bytes || fingerprint.Hash != plan.Fingerprint.Hash)
        {
            throw CorpusScanner.Changed(input);
        }
    }

    /// <summary>What the second pass of a resumable run needs.</summary>
    private sealed record ResumeState(Checkpoint Checkpoint, SafeFileHandle File, RunIdentity Identity, EmbedSettings Settings, CorpusFileShape Shape, Checkpoint.Progress From, ElmoSession? Stateful);

    /// <summary>Refuses, before anything is computed, an output the format cannot hold.</summary>
    internal static void CheckLimits(CorpusInput input, CorpusFileShape shape)
    {
        if (shape.NameHeapBytes > MaxNameHeapBytes)
        {
            throw new ElmoInputException(
                $"Input '{input.Name}': with --use-sentence-keys the dataset names are the sentences, {shape.NameHeapBytes:N0} bytes in all, over the {MaxNameHeapBytes:N0} an HDF5 group's name heap can hold for every reader; leave out --use-sentence-keys (keys are then line indices), or split the input.")
            {
                FilePath = input.Name,
            };
        }
        if (shape.JsonBytes > MaxSentenceToIndexBytes)
        {
            throw new ElmoInputException(
                $"Input '{input.Name}': sentence_to_index would be {shape.JsonBytes:N0} bytes of JSON, over the {MaxSentenceToIndexBytes:N0} one HDF5 string can hold; pass --forget-sentences to leave it out (the datasets are then keyed by line index only), or split the input.")
            {
                FilePath = input.Name,
            };
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

    /// <summary>Whether a full collection is due: <see cref="CollectionBudget"/> bytes allocated since the last one.</summary>
    internal static bool CollectionDue(ref long allocatedAtLast)
    {
        long now = GC.GetTotalAllocatedBytes(precise: false);
        if (now - allocatedAtLast < CollectionBudget) return false;
        allocatedAtLast = now;
        return true;
    }
}
