using System.CommandLine;

namespace Elmo.Cli;

/// <summary>A command whose <c>--help</c> ends with usage examples (kept out of the one-line description that <c>elmo --help</c> lists).</summary>
/// <param name="name">The command's name.</param>
/// <param name="description">One or two sentences.</param>
/// <param name="examples">Further explanation and examples, printed after the flags by <c>elmo COMMAND --help</c>.</param>
internal sealed class ElmoCommand(string name, string description, string examples) : Command(name, description)
{
    public string Examples { get; } = examples;
}
