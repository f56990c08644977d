using System.Runtime.InteropServices;

namespace Elmo.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        // The first Ctrl-C (or SIGTERM) asks the running command to stop between batches and clean up (no partial
        // output is left); a second Ctrl-C ends the process at once.
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            if (cancel.IsCancellationRequested) return;
            e.Cancel = true;
            cancel.Cancel();
        };
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cancel.Cancel();
        });
        var console = new CliConsole(Console.Out, Console.Error, Console.In)
        {
            ErrorIsTerminal = !Console.IsErrorRedirected,
            Cancellation = cancel.Token,
        };
        return ElmoCli.Run(args, console);
    }
}
