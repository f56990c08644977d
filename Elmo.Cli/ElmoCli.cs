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

    /// <summary>Global <c>--verbose</c>: stack traces on errors.</summary>
    internal static readonly Option<bool> Verbose = new("--verbose") { Description = "Show stack traces on errors.", Recursive = true };

    /// <summary>Runs the command line and returns the process exit code.</summary>
    /// <param name="args">Arguments.</param>
    /// <param name="stdout">Standard output.</param>
    /// <param name="stderr">Standard error.</param>
    /// <param name="stdin">Standard input (for <c>-</c> as INPUT).</param>
    /// <returns>0 on success, 1 on bad input, 2 on usage errors.</returns>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, TextReader stdin)
    {
        var console = new CliConsole(stdout, stderr, stdin);
        var root = new RootCommand("elmo: a pure-managed ELMo engine. Embed text with ELMo biLM layers, check outputs against references, inspect models.")
        {
            Verbose,
        };
        root.Subcommands.Add(EmbedCommand.Create(console));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var e in parsed.Errors) stderr.WriteLine($"elmo: {e.Message}");
            stderr.WriteLine("Run 'elmo --help' or 'elmo COMMAND --help' for usage.");
            return UsageError;
        }

        bool verbose = parsed.GetValue(Verbose);
        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
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
            return BadInput;
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
}

/// <summary>The streams a command writes to and reads from (the process's, or a test's).</summary>
internal sealed record CliConsole(TextWriter Out, TextWriter Error, TextReader In);

/// <summary>A usage error found after parsing (conflicting flags, a missing model): exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
