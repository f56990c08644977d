using System.Diagnostics;
using System.Text.Json;

namespace Elmo.Tests.Support;

/// <summary>
/// Runs Python scripts with Debian's h5py (<c>/usr/bin/python3</c>, package python3-h5py, which <c>.ci/run</c>
/// installs when it can): the independent HDF5 implementation our reader is checked against. A test that needs it
/// calls <see cref="Require"/>, which reports the test as ignored, with the reason, when h5py is missing.
/// </summary>
internal static class H5py
{
    private const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> Missing = new(() =>
    {
        if (!File.Exists(Python)) return $"{Python} does not exist";
        var (exit, text) = RunRaw("import h5py\n", []);
        return exit == 0 ? null : "h5py is not installed (Debian: apt-get install python3-h5py): " + text.Trim();
    });

    /// <summary>Ignores the calling test, with the reason, when h5py cannot be run.</summary>
    public static void Require()
    {
        if (Missing.Value is { } why) Assert.Ignore(why);
    }

    /// <summary>Runs <paramref name="script"/> with <paramref name="args"/> in <c>sys.argv[1:]</c>; fails the test on a non-zero exit.</summary>
    public static string Run(string script, params string[] args)
    {
        Require();
        var (exit, text) = RunRaw(script, args);
        Assert.That(exit, Is.EqualTo(0), "h5py script failed:\n" + text);
        return text;
    }

    /// <summary>A Python string literal for <paramref name="s"/>.</summary>
    public static string Literal(string s) => JsonSerializer.Serialize(s);

    private static (int Exit, string Text) RunRaw(string script, string[] args)
    {
        var info = new ProcessStartInfo(Python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-");
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        p.StandardInput.Write(script);
        p.StandardInput.Close();
        var err = p.StandardError.ReadToEndAsync();
        string text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, text + err.Result);
    }
}
