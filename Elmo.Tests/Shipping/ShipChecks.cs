using System.Diagnostics;
using System.Text.RegularExpressions;
using Elmo.Tests.Support;

namespace Elmo.Tests.Shipping;

/// <summary>The outcome of one child process.</summary>
internal sealed record ProcessResult(string Command, int Exit, string Out, string Err)
{
    /// <summary>The command, its exit code and its output, each output line behind "| " (so that a child test run's
    /// summary line, quoted in a failure message, never reads as this run's own in .ci/run).</summary>
    public override string ToString() => $"$ {Command}\nexit {Exit}\n--- stdout ---\n{Quote(Out)}\n--- stderr ---\n{Quote(Err)}";

    private static string Quote(string text) => string.Join('\n', text.Split('\n').Select(line => "| " + line));
}

/// <summary>
/// What the shipping checks share: the switch that turns them on (<c>ELMO_SHIP_CHECKS=1</c>, set by <c>.ci/run</c>;
/// they pack, publish and install, which takes minutes), a child-process runner, the repository copy helpers and the
/// VSTest summary parser.
/// </summary>
internal static partial class ShipChecks
{
    /// <summary>Category of the checks that build packages and binaries.</summary>
    public const string Category = "Ship";

    /// <summary>The variable that turns the checks on.</summary>
    public const string Variable = "ELMO_SHIP_CHECKS";

    /// <summary>Skips the test with the reason unless <see cref="Variable"/> is <c>1</c>.</summary>
    public static void Require()
    {
        if (Environment.GetEnvironmentVariable(Variable) != "1")
        {
            Assert.Ignore($"Shipping check (packs, publishes or installs; minutes): runs when {Variable}=1, as .ci/run sets it.");
        }
    }

    /// <summary>What the Native AOT toolchain lacks on this machine (a C compiler and linker, zlib), or null.</summary>
    public static string? MissingAotToolchain()
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator);
        if (!path.Any(dir => File.Exists(Path.Combine(dir, "clang")))) return "clang";
        string[] zlib = ["/usr/lib/x86_64-linux-gnu/libz.so", "/usr/lib/x86_64-linux-gnu/libz.a", "/usr/lib64/libz.so", "/usr/lib/libz.so"];
        return zlib.Any(File.Exists) ? null : "zlib (libz.so)";
    }

    /// <summary>The <c>dotnet</c> host running these tests (the SDK exports it to child processes), else the one on PATH.</summary>
    public static string Dotnet
    {
        get
        {
            string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
            string? process = Environment.ProcessPath;
            if (process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet") return process;
            return "dotnet";
        }
    }

    /// <summary>
    /// Runs <paramref name="file"/> to completion (killed after <paramref name="timeout"/>, which fails the test).
    /// <paramref name="environment"/> entries with a null value are removed from the child's environment.
    /// </summary>
    public static ProcessResult Run(string file, IEnumerable<string> arguments, string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null, string? stdin = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Directory.GetCurrentDirectory(),
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        }
        string command = $"{Path.GetFileName(file)} {string.Join(' ', start.ArgumentList.Select(a => a.Contains(' ') ? $"'{a}'" : a))}";

        using var child = Process.Start(start)!;
        var stderr = child.StandardError.ReadToEndAsync();
        var stdout = child.StandardOutput.ReadToEndAsync();
        if (stdin is not null) child.StandardInput.Write(stdin);
        child.StandardInput.Close();
        var limit = timeout ?? TimeSpan.FromMinutes(10);
        if (!child.WaitForExit(limit))
        {
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
            Assert.Fail($"{command} did not finish in {limit.TotalMinutes:F0} minutes.\n{stdout.Result}\n{stderr.Result}");
        }
        child.WaitForExit();
        return new ProcessResult(command, child.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs and asserts exit code 0, returning the result.</summary>
    public static ProcessResult RunOk(string file, IEnumerable<string> arguments, string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        var result = Run(file, arguments, workingDirectory, environment, timeout);
        Assert.That(result.Exit, Is.Zero, result.ToString());
        return result;
    }

    /// <summary>
    /// Copies the repository's sources (everything but <c>.git</c>, <c>bin</c>, <c>obj</c> and test results) to
    /// <paramref name="destination"/>.
    /// </summary>
    public static void CopySources(string destination)
    {
        string root = Reference.RepoRoot;
        var skip = new HashSet<string>(StringComparer.Ordinal) { ".git", "bin", "obj", "TestResults", "BenchmarkDotNet.Artifacts", "out" };
        foreach (string directory in Directory.EnumerateDirectories(root, "*", new EnumerationOptions { RecurseSubdirectories = false }))
        {
            if (!skip.Contains(Path.GetFileName(directory))) CopyTree(directory, Path.Combine(destination, Path.GetFileName(directory)), skip);
        }
        foreach (string file in Directory.EnumerateFiles(root))
        {
            File.Copy(file, Path.Combine(destination, Path.GetFileName(file)));
        }
    }

    /// <summary>Copies a directory tree, leaving out directories named in <paramref name="skip"/>.</summary>
    public static void CopyTree(string source, string destination, IReadOnlySet<string>? skip = null)
    {
        Directory.CreateDirectory(destination);
        foreach (string file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, Path.Combine(destination, Path.GetFileName(file)));
        }
        foreach (string directory in Directory.EnumerateDirectories(source))
        {
            if (skip is null || !skip.Contains(Path.GetFileName(directory)))
            {
                CopyTree(directory, Path.Combine(destination, Path.GetFileName(directory)), skip);
            }
        }
    }

    /// <summary>The counts of a VSTest summary line in <paramref name="output"/> (fails the test when there is none).</summary>
    public static (int Failed, int Passed, int Skipped) Summary(ProcessResult result)
    {
        var match = SummaryLine().Match(result.Out + result.Err);
        Assert.That(match.Success, Is.True, $"No test summary in the child's output.\n{result}");
        return (int.Parse(match.Groups["failed"].Value), int.Parse(match.Groups["passed"].Value), int.Parse(match.Groups["skipped"].Value));
    }

    [GeneratedRegex(@"Failed:\s*(?<failed>\d+),\s*Passed:\s*(?<passed>\d+),\s*Skipped:\s*(?<skipped>\d+)")]
    private static partial Regex SummaryLine();
}
