using System.CommandLine;
using System.Globalization;
using Elmo.Cli.Progress;
using Elmo.Core;

namespace Elmo.Cli.Commands;

/// <summary><c>elmo embed INPUT OUTPUT</c>: bulk embedding into HDF5, a drop-in for AllenNLP's <c>elmo</c> command.</summary>
internal static class EmbedCommand
{
    private const string Examples = """
        Examples:
          elmo embed sentences.txt out.hdf5 --model demo --all
          elmo embed corpus.txt out.hdf5 --model original --top --batch-size 32
          elmo embed in.jsonl out.hdf5 --options options.json --weights weights.hdf5 --average --stateful
          elmo embed in.txt out.hdf5 --model small --mix 0,1,1 --gamma 0.5 --layer-norm
          cat in.txt | elmo embed - out.hdf5 --model small --all --warm-state warm.hdf5
          elmo embed corpus.txt part-2.hdf5 --model original --top --shard 2/4    (then: elmo merge out.hdf5 part-*.hdf5)
          elmo embed corpus.txt out.hdf5 --model original --top --resume          (run again after a crash: it continues)

        The output has one float32 dataset per input line, keyed "0".."n-1" (or by sentence with
        --use-sentence-keys), plus "sentence_to_index": the JSON map sentence -> key, as AllenNLP wrote it.
        Every sentence starts from the warm state (--warm) unless --stateless or --stateful is given.
        """;

    public static Command Create(CliConsole console)
    {
        var input = new Argument<string>("INPUT") { Description = "Sentences: .txt (one per line, tokens separated by white space) or .jsonl (a JSON array of tokens per line); '-' for standard input." };
        var output = new Argument<string>("OUTPUT") { Description = "HDF5 file to write (replaced only when the run succeeds)." };
        var all = new Option<bool>("--all") { Description = "Write all layers: (layers, tokens, dim)." };
        var top = new Option<bool>("--top") { Description = "Write the top layer: (tokens, dim)." };
        var average = new Option<bool>("--average") { Description = "Write the mean of the layers: (tokens, dim)." };
        var mix = new Option<string?>("--mix") { Description = "Write a scalar mix with these pre-softmax layer weights: (tokens, dim).", HelpName = "W0,...,WL" };
        var gamma = new Option<float>("--gamma") { Description = "Scale of the --mix.", DefaultValueFactory = _ => 1f, HelpName = "G" };
        var layerNorm = new Option<bool>("--layer-norm") { Description = "Layer-normalise each layer in the --mix over its batch (AllenNLP's do_layer_norm)." };
        var batchSize = new Option<int>("--batch-size") { Description = "Sentences per batch.", DefaultValueFactory = _ => 64, HelpName = "N" };
        var stateless = new Option<bool>("--stateless") { Description = "Every batch starts from zero LSTM state." };
        var stateful = new Option<bool>("--stateful") { Description = "Carry LSTM states from batch to batch per row, as AllenNLP's ElmoEmbedder and bilm-tf do (input order kept)." };
        var warm = new Option<bool>("--warm") { Description = "Every sentence starts from the state after the built-in warm-up text (the default)." };
        var warmUp = new Option<string?>("--warm-up") { Description = "Warm mode, with the state after this text (one sentence per line, .txt or .jsonl).", HelpName = "FILE" };
        var warmState = new Option<string?>("--warm-state") { Description = "Warm mode, with a state saved by 'elmo warm-state'.", HelpName = "FILE" };
        var threads = new Option<int?>("--threads") { Description = "Threads to use (default: all cores).", HelpName = "N" };
        var parallelBatches = new Option<int?>("--parallel-batches") { Description = "Batches run side by side, each with an even share of the threads (default: one at a time up to 2 threads, else one per two threads). Same output.", HelpName = "N" };
        var skipBlank = new Option<bool>("--skip-blank") { Description = "Skip blank lines instead of failing (keys then count the kept sentences)." };
        var inputFormat = new Option<string?>("--input-format") { Description = "Input format: text or jsonl (default: by extension; text for '-').", HelpName = "text|jsonl" };
        inputFormat.AcceptOnlyFromAmong("text", "jsonl");
        var sentenceKeys = new Option<bool>("--use-sentence-keys") { Description = "Key datasets by sentence text instead of line index (sentences must be unique; no sentence_to_index is written)." };
        var forget = new Option<bool>("--forget-sentences") { Description = "Do not write the sentence_to_index map." };
        var quiet = new Option<bool>("--quiet") { Description = "No progress and no summary on stderr." };
        var fileFriendly = new Option<bool>("--file-friendly-logging") { Description = "Plain progress lines even on a terminal (AllenNLP's flag)." };
        var cuda = new Option<int>("--cuda-device") { Description = "Accepted for AllenNLP compatibility; elmo always runs on the CPU.", HelpName = "ID", DefaultValueFactory = _ => -1 };
        var vocabPath = new Option<string?>("--vocab-path") { Description = "Accepted for AllenNLP compatibility and ignored (as AllenNLP's command did).", HelpName = "PATH" };
        var includePackage = new Option<string[]>("--include-package") { Description = "Accepted for AllenNLP compatibility and ignored: elmo loads no Python packages.", HelpName = "PACKAGE" };
        var shard = new Option<string?>("--shard") { Description = "Embed only part K of N (contiguous, balanced by tokens) and write a part file for 'elmo merge'; 'auto' takes the part from a Slurm job array's environment, 'auto/N' from Kubernetes' JOB_COMPLETION_INDEX.", HelpName = "K/N|auto|auto/N" };
        var resume = new Option<bool>("--resume") { Description = "Run resumably: checkpoint the output as it is built, and continue from the checkpoint an interrupted run of the same command left." };
        var checkpointSentences = new Option<int>("--checkpoint-sentences") { Description = "With --resume: at most this many sentences between checkpoints.", DefaultValueFactory = _ => ResumeOptions.DefaultSentences, HelpName = "N" };
        var checkpointSeconds = new Option<double>("--checkpoint-seconds") { Description = "With --resume: at most about this many seconds of work between checkpoints.", DefaultValueFactory = _ => ResumeOptions.DefaultInterval.TotalSeconds, HelpName = "S" };
        var model = new ModelSource();

        var command = new ElmoCommand("embed", "Embed sentences with the biLM and write one HDF5 dataset per sentence (a drop-in for AllenNLP's 'elmo' command).", Examples)
        {
            input, output, all, top, average, mix, gamma, layerNorm, batchSize, stateless, stateful, warm, warmUp, warmState, threads, parallelBatches,
            skipBlank, inputFormat, sentenceKeys, forget, shard, resume, checkpointSentences, checkpointSeconds, quiet, fileFriendly, cuda, vocabPath, includePackage,
        };
        model.AddTo(command);

        command.SetAction(parsed =>
        {
            int layouts = (parsed.GetValue(all) ? 1 : 0) + (parsed.GetValue(top) ? 1 : 0) + (parsed.GetValue(average) ? 1 : 0) + (parsed.GetValue(mix) is null ? 0 : 1);
            if (layouts != 1) throw new UsageException("Choose exactly one of --all, --top, --average, --mix W0,...,WL.");
            if (parsed.GetValue(mix) is null && (parsed.GetResult(gamma) is { Implicit: false } || parsed.GetValue(layerNorm)))
            {
                throw new UsageException("--gamma and --layer-norm go with --mix.");
            }
            if (!float.IsFinite(parsed.GetValue(gamma)))
            {
                string given = parsed.GetResult(gamma)?.Tokens.FirstOrDefault()?.Value ?? parsed.GetValue(gamma).ToString(CultureInfo.InvariantCulture);
                throw new UsageException($"--gamma must be a finite number, got '{given}' (float32 reaches about ±3.4e38).");
            }
            var modes = new[] { (parsed.GetValue(stateless), "--stateless"), (parsed.GetValue(stateful), "--stateful"), (parsed.GetValue(warm), "--warm"), (parsed.GetValue(warmUp) is not null, "--warm-up"), (parsed.GetValue(warmState) is not null, "--warm-state") }
                .Where(m => m.Item1).Select(m => m.Item2).ToList();
            if (modes.Count > 1) throw new UsageException($"{string.Join(" and ", modes)} exclude each other: choose one of --stateless, --stateful, --warm, --warm-up FILE, --warm-state FILE.");
            int batch = parsed.GetValue(batchSize);
            if (batch < 1) throw new UsageException($"--batch-size must be at least 1, got {batch}.");
            int? threadCount = parsed.GetValue(threads);
            if (threadCount is < 1) throw new UsageException($"--threads must be at least 1, got {threadCount}.");
            int? parallelCount = parsed.GetValue(parallelBatches);
            if (parallelCount is < 1) throw new UsageException($"--parallel-batches must be at least 1, got {parallelCount}.");
            if (parsed.GetValue(sentenceKeys) && parsed.GetValue(forget))
            {
                throw new UsageException("--use-sentence-keys writes no sentence_to_index anyway; leave out --forget-sentences.");
            }
            float[]? mixWeights = parsed.GetValue(mix) is string m ? ParseWeights(m) : null;
            ResumeOptions? resumable = null;
            if (parsed.GetValue(resume))
            {
                int every = parsed.GetValue(checkpointSentences);
                double seconds = parsed.GetValue(checkpointSeconds);
                if (every < 1) throw new UsageException($"--checkpoint-sentences must be at least 1, got {every}.");
                if (!(seconds > 0) || !double.IsFinite(seconds)) throw new UsageException($"--checkpoint-seconds must be a positive number of seconds, got {seconds.ToString(CultureInfo.InvariantCulture)}.");
                resumable = new ResumeOptions { Sentences = every, Interval = TimeSpan.FromSeconds(seconds) };
            }
            else if (parsed.GetResult(checkpointSentences) is { Implicit: false } || parsed.GetResult(checkpointSeconds) is { Implicit: false })
            {
                throw new UsageException("--checkpoint-sentences and --checkpoint-seconds go with --resume.");
            }
            ShardSpec? part = null;
            if (parsed.GetValue(shard) is string shardText)
            {
                try
                {
                    part = ShardSpec.Parse(shardText, Environment.GetEnvironmentVariable);
                }
                catch (ArgumentException e)
                {
                    throw new UsageException(e.Message);
                }
                if (parsed.GetValue(stateful)) throw new UsageException("--stateful cannot be split with --shard: each sentence's vectors would depend on where the input was cut; use the default warm mode or --stateless, whose vectors do not.");
                if (parsed.GetValue(layerNorm)) throw new UsageException("--layer-norm cannot be split with --shard: it normalises over each batch, so the vectors would depend on where the input was cut; leave out --layer-norm (or run unsplit).");
            }

            bool isQuiet = parsed.GetValue(quiet);
            var progress = new ProgressReporter(console, isQuiet, plain: parsed.GetValue(fileFriendly));
            if (parsed.GetValue(cuda) >= 0) progress.Note($"--cuda-device {parsed.GetValue(cuda)}: there is no GPU support; running on the CPU.");
            if (parsed.GetValue(vocabPath) is not null) progress.Note("--vocab-path is ignored (AllenNLP's command ignored it too); see 'elmo dump-token-embeddings' for a vocabulary's token vectors.");
            if (parsed.GetValue(includePackage) is { Length: > 0 } packages) progress.Note($"--include-package {string.Join(", ", packages)} is ignored: elmo loads no Python packages.");

            string inputPath = parsed.GetValue(input)!;
            string outputPath = parsed.GetValue(output)!;
            InputFormat? format = parsed.GetValue(inputFormat) switch
            {
                "jsonl" => InputFormat.JsonLines,
                "text" => InputFormat.Text,
                _ => null,
            };
            // Check the files before a model is downloaded or loaded.
            if (inputPath.Length == 0) throw new UsageException("INPUT is empty: name a file, or '-' for standard input.");
            using var corpus = inputPath == "-"
                ? CorpusInput.FromReader(console.In, format ?? InputFormat.Text, parsed.GetValue(skipBlank))
                : CorpusInput.FromFile(inputPath, format, parsed.GetValue(skipBlank));
            OutputPath.CheckInput(parsed.GetValue(warmUp), "--warm-up");
            OutputPath.CheckInput(parsed.GetValue(warmState), "--warm-state", seekable: true);
            var inputs = new List<InputFile?>
            {
                inputPath == "-" ? null : new InputFile(inputPath, "INPUT"),
                parsed.GetValue(warmUp) is string w ? new InputFile(w, "--warm-up") : null,
                parsed.GetValue(warmState) is string st ? new InputFile(st, "--warm-state") : null,
            };
            OutputPath.Check(outputPath, "OUTPUT", [.. inputs, .. model.LocalInputs(parsed)]);
            if (resumable is null) CorpusEmbedder.RefuseLeftovers(outputPath);

            var elmo = model.Load(parsed, console, isQuiet, out ResolvedModel resolved);
            OutputPath.Check(outputPath, "OUTPUT", [.. inputs, .. resolved.Inputs]);
            string? weightsPath = resolved.WeightsPath;
            var layout = parsed.GetValue(all) ? OutputLayout.All : parsed.GetValue(top) ? OutputLayout.Top : parsed.GetValue(average) ? OutputLayout.Average : OutputLayout.Mix;
            ScalarMix? scalarMix = null;
            if (mixWeights is not null)
            {
                if (mixWeights.Length != elmo.Options.OutputLayers)
                {
                    throw new UsageException($"--mix has {mixWeights.Length} weights; this model has {elmo.Options.OutputLayers} layers (W0,...,W{elmo.Options.OutputLayers - 1}).");
                }
                scalarMix = new ScalarMix(mixWeights.Length, mixWeights, parsed.GetValue(gamma), parsed.GetValue(layerNorm));
            }

            var (mode, state, modeText) = State(parsed, elmo, weightsPath, parsed.GetValue(model.CacheDir), progress, stateless, stateful, warmUp, warmState);
            var settings = new EmbedSettings
            {
                Layout = layout,
                Mix = scalarMix,
                BatchSize = batch,
                Mode = mode,
                WarmState = state,
                Threads = threadCount,
                ParallelBatches = parallelCount,
                UseSentenceKeys = parsed.GetValue(sentenceKeys),
                ForgetSentences = parsed.GetValue(forget),
                Shard = part,
                Resume = resumable,
            };

            if (resumable is not null)
            {
                // Stopped at once (no check reached within the grace period, or a second signal): the checkpoint stays too.
                console.SetStopNote(() => CheckpointInfo.Find(outputPath) is { } c ? Resumable(c, outputPath, parsed) : null);
            }
            try
            {
                if (part is not null) progress.Note($"part {part} of {corpus.Name}");
                progress.Note($"{modeText}; batch size {batch}; {threadCount ?? Environment.ProcessorCount} thread(s); writing {layout.ToString().ToLowerInvariant()} to {(outputPath == AtomicFile.StandardOutput ? "standard output" : outputPath)}");
                var eta = new EtaEstimator();
                var done = CorpusEmbedder.Run(elmo, corpus, outputPath, settings, p =>
                {
                    if (p.Sentences == 0)
                    {
                        progress.Note(string.Create(CultureInfo.InvariantCulture, $"{corpus.Name}: {p.TotalSentences} sentences, {p.TotalTokens} tokens"));
                        if (corpus.StartsWithByteOrderMark && (format ?? InputReader.FormatOf(inputPath)) == InputFormat.Text)
                        {
                            progress.Note($"{corpus.Name} starts with a UTF-8 byte-order mark: it stays part of the first token (U+FEFF), as in AllenNLP; remove it if it is not meant to be there.");
                        }
                        return;
                    }
                    double? rate = eta.Observe(p.Tokens, p.Elapsed);
                    progress.Update(p.TotalTokens > 0 ? (double)p.Tokens / p.TotalTokens : (double)p.Sentences / Math.Max(1, p.TotalSentences), () => Describe(p, rate), force: p.Sentences == p.TotalSentences);
                }, console.Cancellation);
                progress.Finish();
                if (!isQuiet)
                {
                    double seconds = done.Elapsed.TotalSeconds;
                    console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"elmo: embedded {done.Sentences - done.ResumedSentences} sentences, {done.Tokens - done.ResumedTokens} tokens in {seconds:F2} s ({(seconds > 0 ? (done.Tokens - done.ResumedTokens) / seconds : 0):F0} tokens/s) -> {outputPath}"));
                    if (resumable is not null)
                    {
                        console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"elmo: resumable run: {done.ResumedSentences} sentences were done by an interrupted run and not embedded again; {done.Checkpoints} checkpoint(s) taken"));
                    }
                }
                return ElmoCli.Success;
            }
            catch (OperationCanceledException) when (resumable is not null && CheckpointInfo.Find(outputPath) is { } checkpoint)
            {
                console.Error.WriteLine($"elmo: cancelled; {Resumable(checkpoint, outputPath, parsed)}");
                return console.CancelledExitCode();
            }
            catch (OutOfMemoryException e)
            {
                throw new ElmoException(
                    $"Out of memory embedding '{inputPath}' (batch size {batch}): lower --batch-size; pass --forget-sentences to leave out sentence_to_index (about 40 bytes per distinct sentence); with --use-sentence-keys every sentence is held as a dataset name.", e);
            }
            finally
            {
                progress.Finish();
            }
        });
        return command;
    }

    internal static (StateMode Mode, LstmState? State, string Text) State(
        ParseResult parsed, ElmoModel elmo, string? weightsPath, string? cacheDir, ProgressReporter progress, Option<bool> stateless, Option<bool> stateful, Option<string?> warmUp, Option<string?> warmState)
    {
        if (parsed.GetValue(stateless)) return (StateMode.Stateless, null, "stateless (zero state per batch)");
        if (parsed.GetValue(stateful)) return (StateMode.Stateful, null, "stateful (states carried across batches, input order)");
        if (parsed.GetValue(warmState) is string statePath)
        {
            return (StateMode.Warm, WarmStart.Load(statePath, elmo.Options.Lstm), $"warm (state from {statePath})");
        }
        if (parsed.GetValue(warmUp) is string textPath)
        {
            using var text = CorpusInput.FromFile(textPath, skipBlank: true);
            int sentences = 0;
            var state = WarmStart.Compute(elmo, text.Read().Select(s =>
            {
                sentences++;
                return s.Tokens;
            }));
            return (StateMode.Warm, state, $"warm (state after {sentences} sentences of {textPath})");
        }
        if (weightsPath is not null)
        {
            // The built-in state is the same for every run of this model: kept in the cache, it is computed once.
            string directory = new ModelCache(cacheDir).Directory;
            if (!File.Exists(WarmStateCache.PathFor(elmo, weightsPath, directory)))
            {
                progress.Note("computing the built-in warm state (once for this model; then it is read from the cache)");
            }
            var cached = WarmStateCache.GetOrCompute(elmo, weightsPath, directory, out bool fromCache);
            return (StateMode.Warm, cached, $"warm (state after the built-in warm-up text{(fromCache ? ", from the cache" : "")})");
        }
        return (StateMode.Warm, null, "warm (state after the built-in warm-up text)");
    }

    /// <summary>
    /// The progress figures: tokens first (the bar's percentage counts tokens), then sentences, the rate since the
    /// first batch and the time left at that rate ("?" until a second batch has given a rate).
    /// </summary>
    internal static string Describe(EmbedProgress p, double? rate)
    {
        double shown = rate ?? (p.Elapsed.TotalSeconds > 0 ? p.Tokens / p.Elapsed.TotalSeconds : 0);
        string eta = p.Tokens >= p.TotalTokens ? ProgressReporter.Duration(0)
            : EtaEstimator.SecondsLeft(p.Tokens, p.TotalTokens, rate) is double left ? ProgressReporter.Duration(left) : "?";
        return string.Create(CultureInfo.InvariantCulture, $"{p.Tokens}/{p.TotalTokens} tokens, {p.Sentences}/{p.TotalSentences} sentences, {shown:F0} tokens/s, ETA {eta}");
    }

    /// <summary>What a stopped resumable run left, and the two ways on: the same command again (it has --resume), or deleting the checkpoint.</summary>
    private static string Resumable(CheckpointInfo checkpoint, string outputPath, ParseResult parsed) =>
        string.Create(CultureInfo.InvariantCulture,
            $"'{outputPath}' is not written yet, but {checkpoint.Done:N0} of {checkpoint.Sentences:N0} sentences are checkpointed: run 'elmo {string.Join(' ', parsed.Tokens.Select(t => Quote(t.Value)))}' again to continue from there (--resume), or delete '{checkpoint.RecordPath}' and '{checkpoint.WorkingPath}' to discard them.");

    /// <summary>An argument as a POSIX shell reads it back.</summary>
    private static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? argument : "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static float[] ParseWeights(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var weights = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out weights[i]) || !float.IsFinite(weights[i]))
            {
                throw new UsageException($"--mix: '{parts[i]}' is not a number (expected W0,...,WL, e.g. 0,0,0).");
            }
        }
        return weights;
    }
}
