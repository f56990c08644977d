using System.Diagnostics;
using System.Globalization;

namespace Elmo.Tests.Scale;

/// <summary>
/// A single-node Slurm cluster started for the tests by <c>docs/examples/slurm/local-cluster.sh</c> (munged, slurmctld
/// and slurmd from Debian's packages, as root, everything in one temporary folder) and stopped by its pids.
/// </summary>
internal sealed class SlurmCluster : IDisposable
{
    private SlurmCluster(string directory, string script)
    {
        Directory = directory;
        Script = script;
    }

    public string Directory { get; }

    private string Script { get; }

    /// <summary>Starts a cluster, or says why this machine cannot (the caller reports the test as skipped).</summary>
    public static SlurmCluster? TryStart(out string? why)
    {
        why = null;
        if (!OperatingSystem.IsLinux()) why = "Slurm runs on Linux";
        else if (Run("id", "-u").Out.Trim() != "0") why = "starting slurmctld, slurmd and munged needs root";
        else if (new[] { "/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch" }.FirstOrDefault(f => !File.Exists(f)) is string missing)
        {
            why = $"{missing} is missing (apt-get install slurm-wlm munge; .ci/run installs them)";
        }
        if (why is not null) return null;
        string script = Path.Combine(RepositoryRoot(), "docs", "examples", "slurm", "local-cluster.sh");
        string directory = System.IO.Directory.CreateTempSubdirectory("elmo-slurm").FullName;
        int port = 20000 + Random.Shared.Next(10000) * 2;
        var cluster = new SlurmCluster(directory, script);
        var start = Run("/bin/bash", [script, "start", directory], new() { ["SLURM_LOCAL_CTLD_PORT"] = port.ToString(CultureInfo.InvariantCulture), ["SLURM_LOCAL_D_PORT"] = (port + 1).ToString(CultureInfo.InvariantCulture) }, timeoutSeconds: 120);
        if (start.Exit != 0)
        {
            string logs = string.Join("\n", System.IO.Directory.EnumerateFiles(directory, "*.log", SearchOption.AllDirectories).Select(f => $"--- {f}\n{string.Join('\n', File.ReadLines(f).TakeLast(15))}"));
            cluster.Dispose();
            Assert.Fail($"local-cluster.sh start failed (exit {start.Exit}):\n{start.Out}\n{start.Err}\n{logs}");
        }
        return cluster;
    }

    /// <summary>Runs a Slurm command against this cluster.</summary>
    public (int Exit, string Out, string Err) Slurm(string command, params string[] args) =>
        Run(command, args, new() { ["SLURM_CONF"] = Path.Combine(Directory, "slurm.conf") });

    /// <summary>Submits a batch script; returns the job id.</summary>
    public string Submit(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var env = new Dictionary<string, string>(environment) { ["SLURM_CONF"] = Path.Combine(Directory, "slurm.conf") };
        var r = Run("sbatch", ["--parsable", .. args], env);
        Assert.That(r.Exit, Is.Zero, $"sbatch {string.Join(' ', args)}: {r.Out}{r.Err}");
        return r.Out.Trim().Split(';')[0];
    }

    /// <summary>Waits until none of <paramref name="jobs"/> is queued or running.</summary>
    public void WaitFor(double seconds, params string[] jobs)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed.TotalSeconds < seconds)
        {
            var q = Slurm("squeue", "-h", "-j", string.Join(',', jobs), "-o", "%i %T %r");
            if (q.Exit == 0 && q.Out.Trim().Length == 0) return;
            if (q.Out.Contains("DependencyNeverSatisfied", StringComparison.Ordinal)) Assert.Fail($"a dependency will never be satisfied:\n{q.Out}");
            Thread.Sleep(500);
        }
        Assert.Fail($"jobs {string.Join(',', jobs)} still queued after {seconds} s:\n{Slurm("squeue").Out}");
    }

    public void Dispose()
    {
        var stop = Run("/bin/bash", [Script, "stop", Directory], null, 60);
        if (stop.Exit == 0)
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
                // A daemon's last write; the folder is in the temporary directory.
            }
        }
        Assert.That(stop.Exit, Is.Zero, $"local-cluster.sh stop: {stop.Out}{stop.Err}");
    }

    public static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "elmo.sln"))) return d.FullName;
        }
        Assert.Fail("elmo.sln not found above the test binaries");
        return "";
    }

    public static (int Exit, string Out, string Err) Run(string file, params string[] args) => Run(file, args, null, 60);

    public static (int Exit, string Out, string Err) Run(string file, string[] args, Dictionary<string, string>? environment, double timeoutSeconds = 60)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? []) start.Environment[k] = v;
        using var p = Process.Start(start)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish in {timeoutSeconds} s");
        }
        return (p.ExitCode, output, err.Result);
    }
}
