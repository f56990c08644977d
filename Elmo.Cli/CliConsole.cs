namespace Elmo.Cli;

/// <summary>The streams a command writes to and reads from (the process's, or a test's), and how it is stopped.</summary>
/// <param name="Out">Standard output (results: tables, reports).</param>
/// <param name="Error">Standard error (progress, notes, errors).</param>
/// <param name="In">Standard input (for <c>-</c> as INPUT).</param>
internal sealed record CliConsole(TextWriter Out, TextWriter Error, TextReader In)
{
    /// <summary>Whether <see cref="Error"/> is a terminal: a live progress bar instead of periodic lines.</summary>
    public bool ErrorIsTerminal { get; init; }

    /// <summary>Ctrl-C / SIGTERM: commands stop between batches and leave no partial output.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>The exit code of a cancelled run: 130 after SIGINT (the default), 143 after SIGTERM.</summary>
    public Func<int> CancelledExitCode { get; init; } = () => ElmoCli.Interrupted;

    /// <summary>Asks the process's signal handling for this long, after the first signal, to stop in order (<see cref="Interrupts.AllowGracePeriod"/>).</summary>
    public Action<TimeSpan> AllowGracePeriod { get; init; } = _ => { };

    /// <summary>
    /// Gives the process's signal handling a note to add to its one line when it ends a command at once
    /// (<see cref="Interrupts.StopNote"/>): what the command leaves that a next run can use.
    /// </summary>
    public Action<Func<string?>> SetStopNote { get; init; } = _ => { };

    /// <summary>Seconds between plain progress lines when <see cref="Error"/> is not a terminal.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(10);
}
