using System.Diagnostics;

namespace Elmo.Tests.Support;

/// <summary>Runs <c>elmo</c> or Python in a child process (for memory limits, signals and h5py).</summary>
internal static class ChildProcess
{
    public const string PythonPath = "/usr/bin/python3";

    /// <summary>Skips the test unless <c>/usr/bin/python3</c> can import h5py.</summary>
    public static void RequireH5py()
    {
        if (!File.Exists(PythonPath) || Python("import h5py").Exit != 0)
        {
            Assert.Ignore("h5py is not installed (Debian: apt-get install python3-h5py); the PureHDF read-back tests cover the format.");
        }
    }

    /// <summary>Runs a Python script (given on standard input).</summary>
    public static (int Exit, string Text) Python(string script)
    {
        var info = new ProcessStartInfo(PythonPath) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(info)!;
        p.StandardInput.Write(script);
        p.StandardInput.Close();
        var error = p.StandardError.ReadToEndAsync();
        string text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, text + error.Result);
    }

    /// <summary>The <c>dotnet</c> host of this test run (the SDK exports it to child processes), else the one on PATH.</summary>
    public static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
        string? process = Environment.ProcessPath;
        if (process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet") return process;
        return "dotnet";
    }

    /// <summary>
    /// Runs <c>elmo</c> (the elmo.dll beside the tests) with extra environment variables, e.g.
    /// <c>DOTNET_GCHeapHardLimit</c> to bound its managed heap, and returns its exit code and output.
    /// </summary>
    public static (int Exit, string Out, string Err) Elmo(IReadOnlyDictionary<string, string> environment, TimeSpan timeout, params string[] args)
    {
        var info = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "elmo.dll"));
        foreach (string a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment) info.Environment[k] = v;
        using var p = Process.Start(info)!;
        var error = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"elmo {string.Join(' ', args)} did not finish in {timeout}.\n{error.Result}");
        }
        return (p.ExitCode, output.Result, error.Result);
    }
}
