using System.Diagnostics;

namespace Elmo.Tests.Cli;

/// <summary>
/// The real <c>elmo</c> process (the <c>elmo.dll</c> built beside the tests, run by the <c>dotnet</c> host), for what an
/// in-process run cannot show: signals, standard output as bytes, shell pipes. Its cache (<c>ELMO_CACHE</c>) is the
/// CLI tests' temporary one and its temporary directory (<c>TMPDIR</c>) the one given, so that what it leaves behind
/// can be checked.
/// </summary>
internal sealed class ElmoProcess : IDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _errorText = new();
    private readonly Task _stderr;
    private readonly Task<byte[]> _stdout;
    private DateTime _lastSignal;

    private ElmoProcess(Process process)
    {
        _process = process;
        _stderr = Task.Run(() =>
        {
            string? line;
            while ((line = process.StandardError.ReadLine()) is not null)
            {
                lock (_errorText) _errorText.Append(line).Append('\n');
            }
        });
        var stdout = new MemoryStream();
        _stdout = process.StandardOutput.BaseStream.CopyToAsync(stdout).ContinueWith(_ => stdout.ToArray(), TaskScheduler.Default);
    }

    /// <summary>What the process wrote to stderr so far.</summary>
    public string Error
    {
        get
        {
            lock (_errorText) return _errorText.ToString();
        }
    }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>Standard input (open until closed here).</summary>
    public Stream Input => _process.StandardInput.BaseStream;

    /// <summary>Starts <c>elmo ARGS</c> in <paramref name="workingDirectory"/>, with TMPDIR = <paramref name="tmp"/>.</summary>
    public static ElmoProcess Start(string workingDirectory, string tmp, params string[] args) => StartFile(Host, [ElmoDll, .. args], workingDirectory, tmp);

    /// <summary>Starts another build of the command (a published binary) with the same environment as <see cref="Start"/>.</summary>
    public static ElmoProcess StartBinary(string binary, string workingDirectory, string tmp, params string[] args) => StartFile(binary, args, workingDirectory, tmp);

    /// <summary>Runs a shell command line in which <c>$ELMO</c> is the command (for <c>&lt;(...)</c> and pipes).</summary>
    public static ElmoProcess Shell(string workingDirectory, string tmp, string commandLine)
    {
        if (!File.Exists("/bin/bash")) Assert.Ignore("bash is needed for this test.");
        return StartFile("/bin/bash", ["-c", commandLine.Replace("$ELMO", "\"$ELMO_HOST\" \"$ELMO_DLL\"", StringComparison.Ordinal)], workingDirectory, tmp);
    }

    private static ElmoProcess StartFile(string file, string[] args, string workingDirectory, string tmp)
    {
        if (OperatingSystem.IsWindows()) Assert.Ignore("Signals and FIFOs are tested on Unix.");
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args) start.ArgumentList.Add(a);
        start.Environment[Core.ModelCache.EnvironmentVariable] = TestCacheSetup.CacheDirectory;
        start.Environment["TMPDIR"] = tmp;
        start.Environment["ELMO_HOST"] = Host;
        start.Environment["ELMO_DLL"] = ElmoDll;
        return new ElmoProcess(Process.Start(start)!);
    }

    /// <summary>The <c>dotnet</c> host running these tests (exported by the SDK), else the one on PATH.</summary>
    public static string Host
    {
        get
        {
            string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
            string? process = Environment.ProcessPath;
            return process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet" ? process : "dotnet";
        }
    }

    private static string ElmoDll
    {
        get
        {
            string dll = Path.Combine(AppContext.BaseDirectory, "elmo.dll");
            if (!File.Exists(dll)) Assert.Fail($"{dll} is missing: the tests reference Elmo.Cli, whose build puts it there.");
            return dll;
        }
    }

    /// <summary>Sends a signal (TERM, INT, KILL) with kill(1).</summary>
    public void Signal(string name)
    {
        _lastSignal = DateTime.UtcNow;
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-s", name, Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    /// <summary>
    /// Skips the test when this process was started with SIGINT ignored (a background job of a non-interactive shell):
    /// the runtime then keeps it ignored, as <c>nohup</c> expects, and Ctrl-C cannot be tested here.
    /// </summary>
    public void RequireSigintNotIgnored()
    {
        if (!OperatingSystem.IsLinux()) return;
        string? line = File.ReadLines($"/proc/{Id}/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        if (line is not null && (Convert.ToUInt64(line[7..].Trim(), 16) & 0x2) != 0)
        {
            Kill();
            Assert.Ignore("SIGINT is ignored by processes started here (the test run is a background job): Ctrl-C cannot reach elmo.");
        }
    }

    /// <summary>Whether the process has <paramref name="path"/> open (Linux: /proc/PID/fd).</summary>
    public bool HasOpen(string path)
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("Open files are watched through /proc (Linux).");
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{Id}/fd").Any(fd => new FileInfo(fd).LinkTarget == path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // it exited, or the fd closed while being listed
        }
    }

    /// <summary>Waits for <paramref name="condition"/> while the process runs; fails when it exits first or the time runs out.</summary>
    public void WaitUntil(Func<bool> condition, string what, double seconds = 60)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (_process.HasExited) Assert.Fail($"elmo exited ({_process.ExitCode}) before {what}:\n{Error}");
            if (watch.Elapsed.TotalSeconds > seconds)
            {
                Kill();
                Assert.Fail($"elmo did not get to {what} within {seconds} s.");
            }
            Thread.Sleep(10);
        }
    }

    /// <summary>Waits for the exit (failing, after a SIGKILL, when it takes longer than <paramref name="seconds"/>).</summary>
    /// <returns>The exit code, stderr, stdout, and the seconds from the last signal sent to the exit.</returns>
    public (int Exit, string Err, byte[] Out, double SecondsAfterSignal) Wait(double seconds = 60)
    {
        if (!_process.WaitForExit(TimeSpan.FromSeconds(seconds)))
        {
            Kill();
            Assert.Fail($"elmo was still running {seconds} s later (killed).\n{Error}");
        }
        var exited = DateTime.UtcNow;
        _process.WaitForExit();
        _stderr.Wait();
        return (_process.ExitCode, Error, _stdout.Result, (exited - _lastSignal).TotalSeconds);
    }

    private void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }
}
