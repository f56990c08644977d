using System.CommandLine;
using System.Globalization;
using Elmo.Core;

namespace Elmo.Cli.Commands;

/// <summary><c>elmo embed INPUT OUTPUT</c>: bulk embedding into HDF5, as AllenNLP's <c>elmo</c> command.</summary>
internal static class EmbedCommand
{
    public static Command Create(CliConsole console)
    {
        var input = new Argument<string>("INPUT") { Description = "Sentences: .txt (whitespace-tokenised, one per line) or .jsonl (a JSON array of tokens per line); '-' for standard input (text)." };
        var output = new Argument<string>("OUTPUT") { Description = "HDF5 file to write." };
        var all = new Option<bool>("--all") { Description = "Write all layers: (layers, tokens, dim)." };
        var top = new Option<bool>("--top") { Description = "Write the top layer: (tokens, dim)." };
        var average = new Option<bool>("--average") { Description = "Write the mean of the layers: (tokens, dim)." };
        var mix = new Option<string?>("--mix") { Description = "Write a scalar mix with these pre-softmax weights W0,...,WL: (tokens, dim)." };
        var gamma = new Option<float>("--gamma") { Description = "Scale of the --mix.", DefaultValueFactory = _ => 1f };
        var layerNorm = new Option<bool>("--layer-norm") { Description = "Layer-normalise each layer in the --mix (AllenNLP's do_layer_norm)." };
        var batchSize = new Option<int>("--batch-size") { Description = "Sentences per batch.", DefaultValueFactory = _ => 64 };
        var stateless = new Option<bool>("--stateless") { Description = "Every batch starts from zero LSTM state (default)." };
        var stateful = new Option<bool>("--stateful") { Description = "Carry LSTM states from batch to batch per row, as AllenNLP and bilm-tf do." };
        var threads = new Option<int?>("--threads") { Description = "Threads to use (default: all cores)." };
        var skipBlank = new Option<bool>("--skip-blank") { Description = "Skip blank lines instead of failing." };
        var sentenceKeys = new Option<bool>("--use-sentence-keys") { Description = "Key datasets by sentence text instead of line index." };
        var forget = new Option<bool>("--forget-sentences") { Description = "Do not write the sentence_to_index map." };
        var quiet = new Option<bool>("--quiet") { Description = "No progress output." };
        var model = new ModelSource();

        var command = new Command("embed", "Embed sentences with the biLM and write one dataset per sentence (AllenNLP's 'elmo' command).\n\nExamples:\n  elmo embed sentences.txt out.hdf5 --model demo --all\n  elmo embed in.jsonl out.hdf5 --options options.json --weights weights.hdf5 --top --batch-size 32")
        {
            input, output, all, top, average, mix, gamma, layerNorm, batchSize, stateless, stateful, threads, skipBlank, sentenceKeys, forget, quiet,
        };
        model.AddTo(command);

        command.SetAction(parsed =>
        {
            int layouts = (parsed.GetValue(all) ? 1 : 0) + (parsed.GetValue(top) ? 1 : 0) + (parsed.GetValue(average) ? 1 : 0) + (parsed.GetValue(mix) is null ? 0 : 1);
            if (layouts != 1) throw new UsageException("Choose exactly one of --all, --top, --average, --mix W0,...,WL.");
            if (parsed.GetValue(stateless) && parsed.GetValue(stateful)) throw new UsageException("--stateless and --stateful exclude each other.");
            int batch = parsed.GetValue(batchSize);
            if (batch < 1) throw new UsageException($"--batch-size must be at least 1, got {batch}.");
            int? threadCount = parsed.GetValue(threads);
            if (threadCount is < 1) throw new UsageException($"--threads must be at least 1, got {threadCount}.");

            string inputPath = parsed.GetValue(input)!;
            string outputPath = parsed.GetValue(output)!;
            var elmo = model.Load(parsed, console);

            OutputLayout layout = parsed.GetValue(all) ? OutputLayout.All : parsed.GetValue(top) ? OutputLayout.Top : parsed.GetValue(average) ? OutputLayout.Average : OutputLayout.Mix;
            ScalarMix? scalarMix = null;
            if (layout == OutputLayout.Mix)
            {
                var weights = ParseWeights(parsed.GetValue(mix)!);
                if (weights.Length != elmo.Options.OutputLayers)
                {
                    throw new UsageException($"--mix has {weights.Length} weights; this model has {elmo.Options.OutputLayers} layers (W0,...,W{elmo.Options.OutputLayers - 1}).");
                }
                scalarMix = new ScalarMix(weights.Length, weights, parsed.GetValue(gamma), parsed.GetValue(layerNorm));
            }

            var sentences = ReadInput(inputPath, parsed.GetValue(skipBlank), console);
            var settings = new EmbedSettings
            {
                Layout = layout,
                Mix = scalarMix,
                BatchSize = batch,
                Mode = parsed.GetValue(stateful) ? StateMode.Stateful : StateMode.Stateless,
                Threads = threadCount,
                UseSentenceKeys = parsed.GetValue(sentenceKeys),
                ForgetSentences = parsed.GetValue(forget),
            };
            bool showProgress = !parsed.GetValue(quiet);
            var done = CorpusEmbedder.Run(elmo, sentences, outputPath, settings);
            if (showProgress)
            {
                double seconds = done.Elapsed.TotalSeconds;
                console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"elmo: embedded {done.Sentences} sentences, {done.Tokens} tokens in {seconds:F2} s ({(seconds > 0 ? done.Tokens / seconds : 0):F0} tokens/s) -> {outputPath}"));
            }
            return ElmoCli.Success;
        });
        return command;
    }

    private static List<InputSentence> ReadInput(string path, bool skipBlank, CliConsole console)
    {
        if (path == "-")
        {
            return InputReader.ReadAll(console.In, InputFormat.Text, "standard input", skipBlank);
        }
        if (!File.Exists(path))
        {
            throw new ElmoInputException(Directory.Exists(path) ? $"Input '{path}' is a directory." : $"Input file '{path}' does not exist.") { FilePath = path };
        }
        using var reader = new StreamReader(path, System.Text.Encoding.UTF8);
        return InputReader.ReadAll(reader, InputReader.FormatOf(path), path, skipBlank);
    }

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
