using System.CommandLine;
using Elmo.Core;

namespace Elmo.Cli;

/// <summary>The model flags shared by the commands: <c>--model NAME</c> or <c>--options FILE --weights FILE</c>.</summary>
internal sealed class ModelSource
{
    public Option<string?> Model { get; } = new("--model") { Description = "Built-in model: 'demo' (random weights, no download)." };

    public Option<string?> Options { get; } = new("--options") { Description = "Options JSON (AllenNLP / bilm-tf)." };

    public Option<string?> Weights { get; } = new("--weights") { Description = "Weights HDF5 (bilm-tf layout)." };

    public void AddTo(Command command)
    {
        command.Options.Add(Model);
        command.Options.Add(Options);
        command.Options.Add(Weights);
    }

    /// <summary>Loads the model the flags name; writes a note to stderr for the demo model.</summary>
    public ElmoModel Load(ParseResult parsed, CliConsole console)
    {
        string? name = parsed.GetValue(Model), options = parsed.GetValue(Options), weights = parsed.GetValue(Weights);
        if (name is not null)
        {
            if (options is not null || weights is not null) throw new UsageException("--model cannot be combined with --options/--weights.");
            if (!name.Equals("demo", StringComparison.OrdinalIgnoreCase))
            {
                throw new UsageException($"Unknown model '{name}'. Built in: demo.");
            }
            console.Error.WriteLine("elmo: using the built-in demo model: RANDOM weights (seed 1), for trying the tool only; its vectors mean nothing.");
            return new ElmoModel(RandomWeights.Create(ModelPresets.Demo, 1));
        }
        if (options is null || weights is null)
        {
            throw new UsageException("A model is needed: --options FILE --weights FILE, or --model demo.");
        }
        return ElmoModel.Load(options, weights);
    }
}
