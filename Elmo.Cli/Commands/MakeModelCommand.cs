using System.CommandLine;
using Elmo.Core;

namespace Elmo.Cli.Commands;

/// <summary><c>elmo make-model --preset NAME --seed N OUT_DIR</c>: a random-weight model in the bilm-tf layout.</summary>
internal static class MakeModelCommand
{
    public const string OptionsFileName = "options.json";
    public const string WeightsFileName = "weights.hdf5";

    public static Command Create(CliConsole console)
    {
        var outDir = new Argument<string>("OUT_DIR") { Description = $"Directory to write {OptionsFileName} and {WeightsFileName} into (created when missing; an existing model there is replaced only once the new one is complete)." };
        var preset = new Option<string>("--preset") { Description = "Architecture: original (93.6 M parameters), medium, small, tiny (the bilm-tf test fixture's), demo.", Required = true, HelpName = "NAME" };
        preset.AcceptOnlyFromAmong([.. ModelPresets.Names]);
        var seed = new Option<ulong>("--seed") { Description = "Seed; the same seed gives the same weights on every machine.", DefaultValueFactory = _ => 1UL, HelpName = "N" };
        var command = new ElmoCommand("make-model", "Write a random-weight model (weights HDF5 + options JSON) in the bilm-tf layout, for tests and benchmarks.", """
            Write a model with random weights (uniform in +-1/sqrt(fan_in)) in the bilm-tf layout, with its options JSON:
            for tests and benchmarks at the real shapes without downloading anything. Its vectors mean nothing.

            Examples:
              elmo make-model --preset original --seed 1 models/original-random
              elmo make-model --preset tiny --seed 7 /tmp/tiny && elmo info --options /tmp/tiny/options.json --weights /tmp/tiny/weights.hdf5
            """)
        {
            outDir, preset, seed,
        };
        command.SetAction(parsed =>
        {
            string dir = parsed.GetValue(outDir)!;
            if (dir.Length == 0) throw new UsageException("OUT_DIR is empty: name the directory to write the model into.");
            var options = ModelPresets.Get(parsed.GetValue(preset)!);
            var node = FileNode.Of(dir);
            if (node.Kind is not (FileKind.Directory or FileKind.Missing))
            {
                throw new ElmoOutputException($"Cannot write into '{dir}': it is {node.Description}, not a directory.") { FilePath = dir };
            }
            string optionsPath = Path.Combine(dir, OptionsFileName), weightsPath = Path.Combine(dir, WeightsFileName);
            bool created = node.Kind == FileKind.Missing;
            if (!created)
            {
                // The same policy as any output: both files must be writable, and are replaced only when both are complete.
                AtomicFile.Check(optionsPath);
                AtomicFile.Check(weightsPath);
            }
            var replaced = new[] { optionsPath, weightsPath }.Where(File.Exists).Select(Path.GetFileName).ToList();
            try
            {
                Directory.CreateDirectory(dir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ElmoOutputException($"Cannot create directory '{dir}': {e.Message}", e) { FilePath = dir };
            }
            try
            {
                RandomWeights.Write(options, parsed.GetValue(seed), weightsPath, optionsPath);
            }
            catch when (created)
            {
                // A directory this run created and could not fill is removed again (a full disk must not leave an empty model).
                try
                {
                    Directory.Delete(dir);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // not empty (something else appeared in it), or gone: leave it
                }
                throw;
            }
            if (replaced.Count > 0) console.Error.WriteLine($"elmo: replaced the existing {string.Join(" and ", replaced)} in '{dir}'.");
            console.Out.WriteLine(optionsPath);
            console.Out.WriteLine(weightsPath);
            console.Error.WriteLine($"elmo: random-weight '{parsed.GetValue(preset)}' model (seed {parsed.GetValue(seed)}) written; use it with --options {optionsPath} --weights {weightsPath}");
            return ElmoCli.Success;
        });
        return command;
    }
}
