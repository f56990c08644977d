using Elmo.Cli;
using Elmo.Tests.Support;

namespace Elmo.Tests.Robustness;

/// <summary>The CLI's error policy (with <c>--quiet</c>, so that stderr holds only the error): one line on stderr naming the problem, exit code 1 for bad input and 2 for usage, a stack trace only with --verbose, and no output file.</summary>
[TestFixture]
public class CliErrorTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = ElmoCli.Run(args, stdout, stderr, new StringReader(""));
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string[] Lines(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static void AssertOneLineError(string err, params string[] mentions)
    {
        var lines = Lines(err);
        Assert.That(lines, Has.Length.EqualTo(1), err);
        Assert.That(lines[0], Does.StartWith("elmo: "));
        foreach (var m in mentions) Assert.That(lines[0], Does.Contain(m));
        Assert.That(err, Does.Not.Contain("   at "), "no stack trace without --verbose");
    }

    [Test]
    public void BadFilesGiveExitCode1AndOneLine()
    {
        using var dir = new TempDir();
        string input = dir.File("in.txt"), output = dir.File("out.hdf5"), weights = dir.File("w.hdf5"), options = dir.File("o.json");
        File.WriteAllText(input, "a b c\n");
        File.WriteAllText(weights, "not hdf5");
        File.WriteAllText(options, "{\"lstm\": 1}");

        var r = Run("embed", input, output, "--all", "--options", Reference.FixtureOptions, "--weights", weights, "--quiet");
        Assert.That(r.Code, Is.EqualTo(ElmoCli.BadInput));
        AssertOneLineError(r.Err, weights);

        r = Run("embed", input, output, "--all", "--options", options, "--weights", Reference.FixtureWeights, "--quiet");
        Assert.That(r.Code, Is.EqualTo(ElmoCli.BadInput));
        AssertOneLineError(r.Err, options, "lstm");

        r = Run("embed", dir.File("missing.txt"), output, "--all", "--options", Reference.FixtureOptions, "--weights", Reference.FixtureWeights, "--quiet");
        Assert.That(r.Code, Is.EqualTo(ElmoCli.BadInput));
        AssertOneLineError(r.Err, "missing.txt");

        File.WriteAllText(input, "a\n\nb\n");
        r = Run("embed", input, output, "--all", "--options", Reference.FixtureOptions, "--weights", Reference.FixtureWeights, "--quiet");
        Assert.That(r.Code, Is.EqualTo(ElmoCli.BadInput));
        AssertOneLineError(r.Err, "blank", "2");

        Assert.That(File.Exists(output), Is.False, "no output after a failed run");
    }

    [Test]
    public void OutputFailureKeepsTheExistingFile()
    {
        using var dir = new TempDir();
        string input = dir.File("in.txt"), output = dir.File("out.hdf5");
        File.WriteAllText(input, "a b c\n");
        Directory.CreateDirectory(output);
        var r = Run("embed", input, output, "--all", "--options", Reference.FixtureOptions, "--weights", Reference.FixtureWeights, "--quiet");
        Assert.That(r.Code, Is.EqualTo(ElmoCli.BadInput));
        AssertOneLineError(r.Err, output, "directory");
    }

    [Test]
    public void VerboseAddsTheStackTrace()
    {
        using var dir = new TempDir();
        string input = dir.File("in.txt");
        File.WriteAllText(input, "a\n");
        var r = Run("embed", input, dir.File("out.hdf5"), "--all", "--options", dir.File("nope.json"), "--weights", Reference.FixtureWeights, "--verbose", "--quiet");
        Assert.That(r.Code, Is.EqualTo(ElmoCli.BadInput));
        Assert.That(Lines(r.Err)[0], Does.StartWith("elmo: ").And.Contain("nope.json"));
        Assert.That(r.Err, Does.Contain("ElmoOptionsException").And.Contain("   at "));
    }

    [TestCase("embed")]
    [TestCase("embed", "in.txt", "out.hdf5", "--all", "--top", "--model", "demo")]
    [TestCase("embed", "in.txt", "out.hdf5", "--all", "--batch-size", "0", "--model", "demo")]
    [TestCase("embed", "in.txt", "out.hdf5", "--all", "--no-such-flag")]
    [TestCase("no-such-command")]
    public void UsageErrorsGiveExitCode2(params string[] args)
    {
        var r = Run(args);
        Assert.That(r.Code, Is.EqualTo(ElmoCli.UsageError), r.Err);
        Assert.That(r.Err, Does.StartWith("elmo: "));
        Assert.That(r.Err, Does.Not.Contain("   at "));
    }
}
