using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Elmo.Cli.Progress;
using Elmo.Core;

namespace Elmo.Cli.Commands;

/// <summary><c>elmo info</c>: a model's architecture, parameter counts and weight-file checks.</summary>
internal static class InfoCommand
{
    public static Command Create(CliConsole console)
    {
        var checksum = new Option<bool>("--checksum") { Description = "Also compute the files' SHA-256 (and check downloads against the hash recorded in the cache)." };
        var model = new ModelSource();
        var command = new ElmoCommand("info", "Show a model's architecture and parameter counts, and check its weight file.", """
            Show a model's architecture and parameter counts, and check its weight file: every dataset present, with
            the shape the options imply, float32 and finite. With --options alone, only the architecture. Exit code 1
            when a check fails.

            Examples:
              elmo info --model original
              elmo info --options options.json --weights weights.hdf5 --checksum
              elmo info --options options.json
            """)
        {
            checksum,
        };
        model.AddTo(command);
        command.SetAction(parsed =>
        {
            var resolved = model.Resolve(parsed, console, quiet: false, requireWeights: false);
            var o = console.Out;
            ElmoOptions options = resolved.IsDemo ? ModelPresets.Demo : ElmoOptions.Load(resolved.OptionsPath!);
            o.WriteLine($"model:        {resolved.Description}");
            WriteArchitecture(o, options);
            WriteParameters(o, options);

            if (resolved.IsDemo)
            {
                o.WriteLine($"weights:      random (seed {ModelSource.DemoSeed}), generated in memory");
                return ElmoCli.Success;
            }
            if (resolved.OptionsPath is string optionsPath && parsed.GetValue(checksum)) WriteChecksum(o, "options", optionsPath);
            if (resolved.WeightsPath is not string weightsPath)
            {
                o.WriteLine("weights:      not given (--weights FILE to check a weight file)");
                return ElmoCli.Success;
            }
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"weights:      {weightsPath} ({ProgressReporter.Bytes(new FileInfo(weightsPath).Length)})"));
            bool checksumOk = !parsed.GetValue(checksum) || WriteChecksum(o, "weights", weightsPath);
            var watch = Stopwatch.StartNew();
            var weights = ElmoWeights.Load(weightsPath, options);
            watch.Stop();
            int datasets = RandomWeights.Layout(options).Count();
            o.WriteLine($"  check:      OK: all {datasets} datasets present with the shapes the options imply; float32, finite");
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  loaded:     {weights.ParameterCount:N0} parameters in {watch.Elapsed.TotalSeconds:F2} s; {ProgressReporter.Bytes(weights.SizeInBytes)} in memory (packed for the kernels)"));
            return checksumOk ? ElmoCli.Success : ElmoCli.BadInput;
        });
        return command;
    }

    private static void WriteArchitecture(TextWriter o, ElmoOptions options)
    {
        var c = options.CharCnn;
        var l = options.Lstm;
        string Clip(float? v) => v is float f ? f.ToString(CultureInfo.InvariantCulture) : "none";
        o.WriteLine("architecture:");
        o.WriteLine($"  characters: {c.CharacterCount} ids, {c.MaxCharactersPerToken} per token, embedded in {c.EmbeddingDim} dimensions");
        o.WriteLine($"  char CNN:   {c.Filters.Count} widths ({string.Join(", ", c.Filters.Select(f => $"{f.Width}x{f.Count}"))}) = {c.FilterCount} filters, max-pooled, {c.Activation.ToString().ToLowerInvariant()}");
        o.WriteLine($"  highway:    {c.HighwayLayers} layer(s) of {c.FilterCount}");
        o.WriteLine(options.HasProjection ? $"  projection: {c.FilterCount} -> {l.ProjectionDim}" : "  projection: none (the CNN output is already projection_dim wide)");
        o.WriteLine($"  biLSTM:     {l.Layers} layer(s) x 2 directions; cell {l.CellDim}, projection {l.ProjectionDim}; cell clip {Clip(l.CellClip)}, projection clip {Clip(l.ProjectionClip)}; skip connections {(l.UseSkipConnections ? "yes" : "no")}");
        o.WriteLine($"  output:     {options.OutputLayers} layers x {options.OutputDim} (layer 0 = token representation [x, x]; layers 1..{l.Layers} = [forward, backward])");
    }

    private static void WriteParameters(TextWriter o, ElmoOptions options)
    {
        var groups = new List<(string Name, long Count)>();
        foreach (var (name, shape) in RandomWeights.Layout(options))
        {
            string group = name switch
            {
                "char_embed" => "char embedding",
                _ when name.StartsWith("CNN/", StringComparison.Ordinal) => "char CNN",
                _ when name.StartsWith("CNN_high_", StringComparison.Ordinal) => "highway",
                _ when name.StartsWith("CNN_proj/", StringComparison.Ordinal) => "projection",
                _ => $"LSTM layer {LstmLayer(name) + 1} (both directions)",
            };
            long count = shape.Aggregate(1L, (a, b) => a * b);
            int at = groups.FindIndex(g => g.Name == group);
            if (at < 0) groups.Add((group, count));
            else groups[at] = (group, groups[at].Count + count);
        }
        long total = groups.Sum(g => g.Count);
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"parameters:   {total:N0} in the weight file"));
        foreach (var (name, count) in groups)
        {
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name + ":",-33} {count,14:N0}  ({100.0 * count / total,5:F1}%)"));
        }
    }

    /// <summary>The layer of <c>RNN_d/RNN/MultiRNNCell/Cell{l}/LSTMCell/...</c>.</summary>
    private static int LstmLayer(string name)
    {
        int at = name.IndexOf("/Cell", StringComparison.Ordinal) + 5;
        int end = name.IndexOf('/', at);
        return int.Parse(name[at..end], CultureInfo.InvariantCulture);
    }

    private static bool WriteChecksum(TextWriter o, string what, string path)
    {
        string actual = ModelCache.ComputeSha256(path);
        string? recorded = ModelCache.RecordedSha256(path);
        string verdict = recorded is null ? "" : recorded == actual ? " (matches the hash recorded at download)" : $" (DIFFERS from the hash recorded at download, {recorded}: the cached file is damaged; delete it to download it again)";
        o.WriteLine($"  {what} sha256: {actual}{verdict}");
        return recorded is null || recorded == actual;
    }
}
