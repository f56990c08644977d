namespace Elmo.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        // SIGINT and SIGTERM: the running command stops at its next check and cleans up; one that cannot (blocked on a
        // pipe, in a long batch) is ended after a grace period, as is any run on a second signal (Interrupts).
        using var interrupts = new Interrupts(Console.Error);
        // Standard input as bytes decoded as UTF-8, exactly as input files are read (a BOM is kept as U+FEFF, as Python does).
        using var stdin = new StreamReader(Console.OpenStandardInput(), new System.Text.UTF8Encoding(false), detectEncodingFromByteOrderMarks: false, 1 << 16);
        var console = new CliConsole(Console.Out, Console.Error, stdin)
        {
            ErrorIsTerminal = !Console.IsErrorRedirected,
            Cancellation = interrupts.Token,
            CancelledExitCode = () => interrupts.ExitCode,
            AllowGracePeriod = interrupts.AllowGracePeriod,
            SetStopNote = note => interrupts.StopNote = note,
        };
        return ElmoCli.Run(args, console);
    }
}
