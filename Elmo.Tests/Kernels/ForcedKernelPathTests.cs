using System.Diagnostics;
using System.Text.RegularExpressions;
using Elmo.Kernels;

namespace Elmo.Tests.Kernels;

/// <summary>
/// Re-runs the quick kernel checks (category <see cref="KernelData.KernelCheck"/>) in a child test run whose runtime is
/// told to hide instruction sets, as ImageSharp's FeatureTestRunner does, and asserts that <see cref="KernelPaths.Best"/>
/// really changed and the kernels still match their references there. .NET 10 reads <c>DOTNET_EnableAVX512</c>; .NET 8
/// and 9 read <c>DOTNET_EnableAVX512F</c>: both are set.
/// </summary>
public partial class ForcedKernelPathTests
{
    [TestCase("DOTNET_EnableAVX512F=0 DOTNET_EnableAVX512=0", KernelPath.Vector256)]
    [TestCase("DOTNET_EnableAVX2=0", KernelPath.Vector128)]
    [TestCase("DOTNET_EnableHWIntrinsic=0", KernelPath.Scalar)]
    public void KernelChecksPassOnForcedPath(string switches, KernelPath expected)
    {
        if (KernelPaths.Best <= expected)
        {
            Assert.Ignore($"This machine's widest path is {KernelPaths.Best}: '{switches}' cannot force {expected} here (the in-process tests already cover {KernelPaths.Best}).");
        }

        string report = Path.Combine(Path.GetTempPath(), $"elmo-kernel-path-{Environment.ProcessId}-{expected}.txt");
        File.Delete(report);
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "test", typeof(ForcedKernelPathTests).Assembly.Location, "--filter", $"TestCategory={KernelData.KernelCheck}" })
        {
            start.ArgumentList.Add(arg);
        }
        foreach (string assignment in switches.Split(' '))
        {
            var parts = assignment.Split('=');
            start.Environment[parts[0]] = parts[1];
        }
        start.Environment[KernelPathGuard.ExpectedVariable] = expected.ToString();
        start.Environment[KernelPathGuard.ReportVariable] = report;

        using var child = Process.Start(start)!;
        var stderr = child.StandardError.ReadToEndAsync();
        string stdout = child.StandardOutput.ReadToEnd();
        if (!child.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            child.Kill(entireProcessTree: true);
            Assert.Fail($"The child test run with {switches} did not finish in 3 minutes.");
        }
        string output = stdout + stderr.Result;

        try
        {
            Assert.That(File.Exists(report), Is.True, $"The child run never reached the kernel tests.\n{output}");
            Assert.That(File.ReadAllText(report), Is.EqualTo(expected.ToString()), $"{switches} did not give KernelPaths.Best = {expected}.\n{output}");
            Assert.That(child.ExitCode, Is.Zero, $"Kernel checks failed on the forced {expected} path.\n{output}");
            var summary = Summary().Match(output);
            Assert.That(summary.Success, Is.True, $"No test summary in the child's output.\n{output}");
            Assert.That(int.Parse(summary.Groups["failed"].Value), Is.Zero, output);
            Assert.That(int.Parse(summary.Groups["passed"].Value), Is.GreaterThanOrEqualTo(8), $"Too few kernel checks ran.\n{output}");
            TestContext.Out.WriteLine($"{switches}: KernelPaths.Best = {expected}; {summary.Value}");
        }
        finally
        {
            File.Delete(report);
        }
    }

    /// <summary>The <c>dotnet</c> host that runs this test run (the SDK exports it to child processes), else the one on PATH.</summary>
    private static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
        string? process = Environment.ProcessPath;
        if (process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet") return process;
        return "dotnet";
    }

    [GeneratedRegex(@"Failed:\s*(?<failed>\d+),\s*Passed:\s*(?<passed>\d+),\s*Skipped:\s*(?<skipped>\d+)")]
    private static partial Regex Summary();
}

/// <summary>
/// In a child run started by <see cref="ForcedKernelPathTests"/>, records the path the runtime gave and fails every
/// kernel test when it is not the one that was forced. Does nothing in an ordinary run.
/// </summary>
[SetUpFixture]
public class KernelPathGuard
{
    internal const string ExpectedVariable = "ELMO_EXPECTED_KERNEL_PATH";
    internal const string ReportVariable = "ELMO_KERNEL_PATH_REPORT";

    [OneTimeSetUp]
    public void CheckForcedPath()
    {
        string? expected = Environment.GetEnvironmentVariable(ExpectedVariable);
        if (string.IsNullOrEmpty(expected)) return;
        string? report = Environment.GetEnvironmentVariable(ReportVariable);
        if (!string.IsNullOrEmpty(report)) File.WriteAllText(report, KernelPaths.Best.ToString());
        Assert.That(KernelPaths.Best.ToString(), Is.EqualTo(expected), "the forced kernel path");
    }
}
