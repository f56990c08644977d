using System.CommandLine;
using Elmo.Cli.Commands;
using Elmo.Core;

namespace Elmo.Cli;

/// <summary>The <c>elmo</c> command line: parsing, dispatch and the error policy (exit codes, one-line errors).</summary>
public static class ElmoCli
{
    /// <summary>Exit code of a successful run.</summary>
    public const int Success = 0;

    /// <summary>Exit code for bad input (files, data).</summary>
    public const int BadInput = 1;

    /// <summary>Exit code for usage errors (unknown flags, missing arguments).</summary>
    public const int UsageError = 2;

    /// <summary>Exit code of a run stopped by SIGINT (Ctrl-C): 128 + 2, the shell's convention.</summary>
    public const int Interrupted = 130;

    /// <summary>Exit code of a run stopped by SIGTERM: 128 + 15.</summary>
    public const int Terminated = 143;

    /// <summary>Global <c>--verbose</c>: stack traces on errors.</summary>
    internal static readonly Option<bool> Verbose = new("--verbose") { Description = "Show stack traces on errors.", Recursive = true };

    /// <summary>Runs the command line and returns the process exit code.</summary>
    /// <param name="args">Arguments.</param>
    /// <param name="stdout">Standard output.</param>
    /// <param name="stderr">Standard error.</param>
    /// <param name="stdin">Standard input (for <c>-</c> as INPUT).</param>
    /// <returns>0 on success, 1 on bad input, 2 on usage errors, 130 when cancelled.</returns>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, TextReader stdin) =>
        Run(args, new CliConsole(stdout, stderr, stdin));

    /// <summary>Runs the command line with a console that also says whether stderr is a terminal and carries Ctrl-C.</summary>
    internal static int Run(string[] args, CliConsole console)
    {
        var stdout = console.Out;
        var stderr = console.Error;
        var root = new RootCommand("elmo: a pure-managed ELMo engine. Embed text with ELMo biLM layers, check outputs against references, inspect models.\n\nRun 'elmo COMMAND --help' for a command's flags and examples.")
        {
            Verbose,
        };
        root.Subcommands.Add(EmbedCommand.Create(console));
        root.Subcommands.Add(MergeCommand.Create(console));
        root.Subcommands.Add(WarmStateCommand.Create(console));
        root.Subcommands.Add(DumpTokenEmbeddingsCommand.Create(console));
        root.Subcommands.Add(CompareCommand.Create(console));
        root.Subcommands.Add(InfoCommand.Create(console));
        root.Subcommands.Add(MakeModelCommand.Create(console));
        root.Subcommands.Add(BenchCommand.Create(console));
        root.Subcommands.Add(ServeCommand.Create(console));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (string message in UsageErrors(parsed)) stderr.WriteLine($"elmo: {message}");
            stderr.WriteLine("Run 'elmo --help' or 'elmo COMMAND --help' for usage.");
            return UsageError;
        }

        bool verbose = parsed.GetValue(Verbose);
        try
        {
            int code = parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
            if (parsed.Action is System.CommandLine.Help.HelpAction && parsed.CommandResult.Command is ElmoCommand command)
            {
                stdout.WriteLine(command.Examples.TrimEnd());
                stdout.WriteLine();
            }
            return code;
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"elmo: {e.Message}");
            if (verbose) stderr.WriteLine(e);
            return UsageError;
        }
        catch (ElmoException e)
        {
            stderr.WriteLine($"elmo: {e.Message}");
            if (verbose) stderr.WriteLine(e);
            return BadInput;
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine("elmo: cancelled; no output was written.");
            return console.CancelledExitCode();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"elmo: {e.Message}");
            if (verbose) stderr.WriteLine(e);
            return BadInput;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"elmo: internal error: {e.GetType().Name}: {e.Message} (run with --verbose for details)");
            if (verbose) stderr.WriteLine(e);
            return BadInput;
        }
    }

    /// <summary>
    /// The parser's errors, each once, with the missing arguments of the command named in one line (System.CommandLine
    /// reports "Required argument missing" once per argument without naming it).
    /// </summary>
    private static IEnumerable<string> UsageErrors(ParseResult parsed)
    {
        var command = parsed.CommandResult.Command;
        var missing = command.Arguments.Where(a => a.Arity.MinimumNumberOfValues > 0 && parsed.GetResult(a) is not { Tokens.Count: > 0 })
            .Select(a => a.Name).ToList();
        var messages = new List<string>();
        if (missing.Count > 0)
        {
            string usage = string.Join(' ', command.Arguments.Select(a => a.Name));
            messages.Add($"'{command.Name}' needs {string.Join(" and ", missing)} (usage: elmo {command.Name} {usage} [options]).");
        }
        foreach (var error in parsed.Errors)
        {
            if (missing.Count > 0 && error.Message.StartsWith("Required argument missing", StringComparison.Ordinal)) continue;
            if (!messages.Contains(error.Message)) messages.Add(error.Message);
        }
        return messages;
    }
}
