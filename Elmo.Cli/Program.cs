namespace Elmo.Cli;

internal static class Program
{
    private static int Main(string[] args) => ElmoCli.Run(args, Console.Out, Console.Error, Console.In);
}
