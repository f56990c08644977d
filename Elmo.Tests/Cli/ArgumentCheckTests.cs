using Elmo.Cli;
using Elmo.Tests.Support;

namespace Elmo.Tests.Cli;

/// <summary>Issue 17.17: arguments that gave internal errors, or silently wrote infinities, are clear errors.</summary>
[TestFixture]
public class ArgumentCheckTests
{
    [TestCase("NaN")]
    [TestCase("Infinity")]
    [TestCase("-Infinity")]
    [TestCase("1e39")]
    [TestCase("-1e39")]
    public void ANonFiniteGammaIsAUsageError(string gamma)
    {
        using var dir = new TempDir();
        var r = CliHarness.Run(["embed", dir.Write("in.txt", "a b\n"), dir.File("out.hdf5"), "--mix", "0,0,0", "--gamma", gamma, "--quiet", .. CliHarness.FixtureModel]);
        Assert.That(r.Exit, Is.EqualTo(ElmoCli.UsageError), r.ToString());
        Assert.That(r.Err.Trim(), Is.EqualTo($"elmo: --gamma must be a finite number, got '{gamma}' (float32 reaches about ±3.4e38)."));
        Assert.That(File.Exists(dir.File("out.hdf5")), Is.False);
    }

    /// <summary><c>--gamma 1e38</c> is a float32, but the mix overflows: it wrote infinities with exit code 0.</summary>
    [Test]
    public void AGammaThatOverflowsTheMixIsRefusedAndNothingIsWritten()
    {
        using var dir = new TempDir();
        string output = dir.Write("out.hdf5", "previous");
        var r = CliHarness.Run(["embed", dir.Write("in.txt", "The cat sat .\n"), output, "--mix", "0,0,0", "--gamma", "1e38", "--quiet", .. CliHarness.FixtureModel]);
        Assert.That(r.Exit, Is.EqualTo(ElmoCli.BadInput), r.ToString());
        Assert.That(r.Err.Trim(), Does.StartWith("elmo: The scalar mix overflows float32: gamma 1E+38 times the layers gives").And.EndWith("no output was written. Use a smaller gamma."));
        Assert.That(File.ReadAllText(output), Is.EqualTo("previous"));

        var fine = CliHarness.Run(["embed", dir.File("in.txt"), output, "--mix", "0,0,0", "--gamma", "1e30", "--quiet", .. CliHarness.FixtureModel]);
        Assert.That(fine.Exit, Is.EqualTo(0), fine.ToString());
        Assert.That(CliHarness.Read(output, "0").Data.All(float.IsFinite), Is.True);
    }

    [Test]
    public void OptionsThatNeverEndAreRefusedAtOnce()
    {
        if (!File.Exists("/dev/zero")) Assert.Ignore("No /dev/zero here.");
        using var dir = new TempDir();
        var r = CliHarness.Run("embed", dir.Write("in.txt", "a b\n"), dir.File("out.hdf5"), "--all", "--quiet", "--options", "/dev/zero", "--weights", Reference.FixtureWeights);
        Assert.That(r.Exit, Is.EqualTo(ElmoCli.BadInput), r.ToString());
        Assert.That(r.Err.Trim(), Is.EqualTo("elmo: Options file '/dev/zero' holds more than 1 MiB; an options JSON is a few hundred bytes: is this the options file?"));
    }
}
