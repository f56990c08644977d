using System.Runtime.InteropServices;
using Elmo.Core;

namespace Elmo.Cli;

/// <summary>
/// The one cancellation path of the <c>elmo</c> process, for SIGINT (Ctrl-C) and SIGTERM alike. The first signal
/// cancels <see cref="Token"/>: a command stops at its next check (between batches, chunks, download blocks), removes
/// its temporary files and exits with <see cref="ExitCode"/> (130 for SIGINT, 143 for SIGTERM). A command that does not
/// get there within <see cref="GracePeriod"/> (it is blocked reading a pipe, opening a FIFO no one writes, or in a long
/// batch), and any process that gets a second signal, is ended at once: every temporary file of the process is deleted
/// first (<see cref="TemporaryFiles.DeleteAll"/>), and no output is renamed into place after that.
/// </summary>
internal sealed class Interrupts : IDisposable
{
    /// <summary>How long a command has, after the first signal, to stop by itself (unless it asks for longer: <see cref="AllowGracePeriod"/>).</summary>
    public static readonly TimeSpan GracePeriod = TimeSpan.FromSeconds(2);

    private readonly CancellationTokenSource _cancel = new();
    private readonly TextWriter _error;
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;
    private int _signals;
    private int _exitCode = ElmoCli.Interrupted;
    private long _graceTicks = GracePeriod.Ticks;

    /// <summary>Starts handling SIGINT and SIGTERM.</summary>
    /// <param name="error">Where the one line said when the process is ended at once goes.</param>
    public Interrupts(TextWriter error)
    {
        _error = error;
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => OnSignal(c, ElmoCli.Interrupted));
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => OnSignal(c, ElmoCli.Terminated));
    }

    /// <summary>
    /// What the command leaves behind on purpose when it is ended at once (a resumable run's checkpoint), added to the
    /// one line then printed; null or returning null: nothing.
    /// </summary>
    public Func<string?>? StopNote { get; set; }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>The exit code for the signal received: 130 (SIGINT), 143 (SIGTERM).</summary>
    public int ExitCode => Volatile.Read(ref _exitCode);

    /// <summary>
    /// A command that stops in an orderly way that takes longer than <see cref="GracePeriod"/> (<c>elmo serve</c>
    /// finishing the requests in flight) asks for that long, before any signal; a second signal still ends the process at once.
    /// </summary>
    /// <param name="grace">The time the command has after the first signal.</param>
    public void AllowGracePeriod(TimeSpan grace) => Interlocked.Exchange(ref _graceTicks, Math.Max(grace.Ticks, GracePeriod.Ticks));

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _cancel.Dispose();
    }

    private void OnSignal(PosixSignalContext context, int exitCode)
    {
        context.Cancel = true; // handled here: the runtime's default would end the process without cleaning up
        if (Interlocked.Increment(ref _signals) == 1)
        {
            Volatile.Write(ref _exitCode, exitCode);
            _cancel.Cancel();
            new Thread(() =>
            {
                Thread.Sleep(TimeSpan.FromTicks(Interlocked.Read(ref _graceTicks)));
                Stop();
            })
            {
                IsBackground = true,
                Name = "elmo grace period",
            }.Start();
        }
        else
        {
            Stop();
        }
    }

    /// <summary>Deletes the temporary files and ends the process.</summary>
    private void Stop()
    {
        TemporaryFiles.DeleteAll();
        try
        {
            string? note = null;
            try
            {
                note = StopNote?.Invoke();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // the note is a courtesy: the process ends all the same
            }
            _error.WriteLine(note is null ? "elmo: interrupted; stopped at once (temporary files removed)." : $"elmo: interrupted; stopped at once (temporary files removed); {note}");
            _error.Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // stderr is gone: the exit code says it
        }
        Environment.Exit(ExitCode);
    }
}
