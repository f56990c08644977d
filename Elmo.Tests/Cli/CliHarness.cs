using Elmo.Cli;
using PureHDF;

namespace Elmo.Tests.Cli;

/// <summary>The outcome of one in-process <c>elmo</c> run.</summary>
internal sealed record CliResult(int Exit, string Out, string Err)
{
    public override string ToString() => $"exit {Exit}\n--- stdout ---\n{Out}\n--- stderr ---\n{Err}";
}

/// <summary>Runs <c>elmo</c> in process with string streams, and makes temporary directories.</summary>
internal static class CliHarness
{
    public static CliResult Run(params string[] args) => RunWith(null, default, null, args);

    public static CliResult RunWithStdin(string stdin, params string[] args) => RunWith(stdin, default, null, args);

    /// <summary>Runs with a cancellation token, and an stderr writer that may act on what it sees (to cancel mid-run).</summary>
    public static CliResult RunWith(string? stdin, CancellationToken cancellation, Func<StringWriter, StringWriter>? wrapError, params string[] args)
    {
        var output = new StringWriter();
        var plainError = new StringWriter();
        var error = wrapError?.Invoke(plainError) ?? plainError;
        var console = new CliConsole(output, error, new StringReader(stdin ?? ""))
        {
            Cancellation = cancellation,
            ProgressInterval = TimeSpan.Zero,
        };
        int exit = ElmoCli.Run(args, console);
        return new CliResult(exit, output.ToString(), error.ToString());
    }

    /// <summary>The fixture model's flags.</summary>
    public static string[] FixtureModel => ["--options", Support.Reference.FixtureOptions, "--weights", Support.Reference.FixtureWeights];

    public static (float[] Data, int[] Shape) Read(string file, string name)
    {
        using var f = H5File.OpenRead(file);
        var ds = f.Dataset(name);
        int[] shape = ds.Space.Dimensions.Select(d => (int)d).ToArray();
        return (shape.Contains(0) ? [] : ds.Read<float[]>(), shape);
    }

    public static string[] Names(string file)
    {
        using var f = H5File.OpenRead(file);
        return f.Children().Select(c => c.Name).ToArray();
    }

    public static string ReadString(string file, string name)
    {
        using var f = H5File.OpenRead(file);
        var values = f.Dataset(name).Read<string[]>();
        Assert.That(values, Has.Length.EqualTo(1), $"{name} holds one string");
        return values[0];
    }
}

/// <summary>A temporary directory deleted at the end of a test.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Path = Directory.CreateTempSubdirectory("elmo-cli-test").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, string content)
    {
        string path = File(name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    /// <summary>Files in the directory other than <paramref name="expected"/> (temporaries left behind).</summary>
    public string[] Others(params string[] expected) =>
        Directory.GetFiles(Path).Select(System.IO.Path.GetFileName).Where(n => !expected.Contains(n)).ToArray()!;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by a failed assertion's reader; the OS temp cleaner takes it.
        }
    }
}
