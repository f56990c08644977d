using System.CommandLine;
using System.Globalization;
using Elmo.Core;

namespace Elmo.Cli.Commands;

/// <summary><c>elmo warm-state OUTPUT</c>: computes a warm state once and saves it, so that every machine gets the same vectors.</summary>
internal static class WarmStateCommand
{
    public static Command Create(CliConsole console)
    {
        var output = new Argument<string>("OUTPUT") { Description = "HDF5 file to write: datasets hidden (layers, 2, projection_dim) and cell (layers, 2, cell_dim)." };
        var warmUp = new Option<string?>("--warm-up") { Description = "Warm-up text, one sentence per line (.txt or .jsonl; blank lines are skipped). Default: the built-in text.", HelpName = "FILE" };
        var quiet = new Option<bool>("--quiet") { Description = "No notes on stderr." };
        var model = new ModelSource();
        var command = new ElmoCommand("warm-state", "Compute a warm state (the LSTM state after a warm-up text) and save it for 'elmo embed --warm-state FILE'.", """
            Compute the warm state (the LSTM state after running a warm-up text through the stateful biLM, one
            sentence at a time) and save it for 'elmo embed --warm-state FILE' or WarmStart.Load.

            Examples:
              elmo warm-state --model small small-warm.hdf5
              elmo warm-state --options options.json --weights weights.hdf5 --warm-up news.txt news-warm.hdf5
            """)
        {
            output, warmUp, quiet,
        };
        model.AddTo(command);
        command.SetAction(parsed =>
        {
            bool isQuiet = parsed.GetValue(quiet);
            string? textPath = parsed.GetValue(warmUp);
            string outputPath = parsed.GetValue(output)!;
            OutputPath.CheckInput(textPath, "--warm-up");
            using var text = textPath is null ? null : CorpusInput.FromFile(textPath, skipBlank: true);
            InputFile? warmUpInput = textPath is null ? null : new InputFile(textPath, "--warm-up");
            OutputPath.Check(outputPath, "OUTPUT", [warmUpInput, .. model.LocalInputs(parsed)]);
            var elmo = model.Load(parsed, console, isQuiet, out ResolvedModel resolved);
            OutputPath.Check(outputPath, "OUTPUT", [warmUpInput, .. resolved.Inputs]);
            int sentences = 0;
            long tokens = 0;
            var state = text is null
                ? WarmStart.ComputeBuiltIn(elmo)
                : WarmStart.Compute(elmo, text.Read().Select(s =>
                {
                    console.Cancellation.ThrowIfCancellationRequested();
                    sentences++;
                    tokens += s.Tokens.Count;
                    return s.Tokens;
                }));
            if (text is null)
            {
                sentences = WarmStart.BuiltInText.Count;
                tokens = WarmStart.BuiltInText.Sum(s => (long)s.Split(' ').Length);
            }
            console.Cancellation.ThrowIfCancellationRequested();
            WarmStart.Save(state, outputPath);
            if (!isQuiet)
            {
                console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"elmo: warm state after {sentences} sentences ({tokens} tokens) of {(textPath ?? "the built-in warm-up text")} -> {outputPath}"));
            }
            return ElmoCli.Success;
        });
        return command;
    }
}
