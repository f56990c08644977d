using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Elmo.Tests.Cli;

namespace Elmo.Tests.Scale;

/// <summary>
/// <c>docs/examples/kubernetes</c>, as far as a machine without a cluster can check it: the Indexed Job's container
/// command line, run exactly as its pods would (same shell, working folder, <c>JOB_COMPLETION_INDEX</c> for every
/// index), then the merge Job's, gives one run's file bitwise.
/// </summary>
public class KubernetesTests
{
    private static string Folder => Path.Combine(SlurmCluster.RepositoryRoot(), "docs", "examples", "kubernetes");

    [Test]
    public void TheIndexedJobsCommandForEveryIndexThenTheMergeJobsGiveOneRunsFile()
    {
        if (OperatingSystem.IsWindows() || !File.Exists("/bin/sh")) Assert.Ignore("skipped: the manifest's commands run under /bin/sh (Linux containers)");
        string manifest = File.ReadAllText(Path.Combine(Folder, "embed-indexed-job.yaml"));
        var commands = Regex.Matches(manifest, @"^\s*command: (\[.*\])\s*$", RegexOptions.Multiline).Select(m => JsonSerializer.Deserialize<string[]>(m.Groups[1].Value)!).ToList();
        Assert.That(commands, Has.Count.EqualTo(2), "the embedding Job's container and the merge Job's");
        Assert.That(manifest, Does.Contain("completionMode: Indexed"));
        int completions = int.Parse(Regex.Match(manifest, @"completions: (\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(Regex.Match(manifest, @"parallelism: (\d+)").Success, Is.True);
        Assert.That(commands[0][^1], Does.Contain($"--shard auto/{completions} --resume"), "the count given to --shard is the Job's completions");
        Assert.That(commands[1][^1], Does.Contain($"-ge {completions} ]"), "the merge waits for every part");
        Assert.That(manifest, Does.Contain("workingDir: /data"));

        // The volume: the corpus and the model at the paths the manifest names (a tiny random model stands in).
        using var data = new TempDir();
        data.Write("corpus.txt", ScaleCorpus.Text(300, distinct: false));
        Assert.That(CliHarness.Run("make-model", "--preset", "tiny", data.File("model")).Exit, Is.Zero);
        // The image's /usr/local/bin/elmo (Dockerfile) runs the published elmo.dll; here, the one the tests built.
        string bin = Directory.CreateDirectory(data.File("bin")).FullName;
        File.WriteAllText(Path.Combine(bin, "elmo"), $"#!/bin/sh\nexec \"{ElmoProcess.Host}\" \"{Path.Combine(AppContext.BaseDirectory, "elmo.dll")}\" \"$@\"\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(Path.Combine(bin, "elmo"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Assert.That(File.ReadAllText(Path.Combine(Folder, "Dockerfile")), Does.Contain("exec dotnet /app/elmo.dll \"$@\"").And.Contain("/usr/local/bin/elmo"));

        for (int index = 0; index < completions; index++)
        {
            var (exit, output) = Pod(commands[0], data.Path, bin, index);
            Assert.That(exit, Is.Zero, $"index {index}: {output}");
        }
        var merge = Pod(commands[1], data.Path, bin, null);
        Assert.That(merge.Exit, Is.Zero, merge.Output);

        var single = CliHarness.Run("embed", data.File("corpus.txt"), data.File("single.hdf5"), "--options", data.File("model/options.json"), "--weights", data.File("model/weights.hdf5"), "--top", "--quiet");
        Assert.That(single.Exit, Is.Zero, single.ToString());
        Assert.That(File.ReadAllBytes(data.File("embeddings.hdf5")), Is.EqualTo(File.ReadAllBytes(data.File("single.hdf5"))));
    }

    /// <summary>Runs a container's command as its pod would: the command itself (no shell of ours), in the working folder, with the Job's environment.</summary>
    private static (int Exit, string Output) Pod(string[] command, string workingDirectory, string bin, int? index)
    {
        var start = new ProcessStartInfo(command[0]) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in command[1..]) start.ArgumentList.Add(a);
        start.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
        start.Environment[Core.ModelCache.EnvironmentVariable] = TestCacheSetup.CacheDirectory;
        if (index is int i) start.Environment["JOB_COMPLETION_INDEX"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var p = Process.Start(start)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        Assert.That(p.WaitForExit(TimeSpan.FromMinutes(3)), Is.True, "the pod's command finished");
        return (p.ExitCode, output + err.Result);
    }
}
