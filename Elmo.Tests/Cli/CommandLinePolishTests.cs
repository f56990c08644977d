using System.Globalization;
using System.Text.RegularExpressions;
using Elmo.Cli;
using Elmo.Cli.Commands;
using Elmo.Cli.Progress;
using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Cli;

/// <summary>Messages, flags and progress figures a new user meets first (issue 11, "Also fix").</summary>
[TestFixture]
public partial class CommandLinePolishTests
{
    private static string Examples => Path.Combine(Reference.RepoRoot, "docs", "examples", "sentences.txt");

    [Test]
    public void MissingArgumentsAreNamedOnce()
    {
        var none = CliHarness.Run("embed");
        Assert.That(none.Exit, Is.EqualTo(ElmoCli.UsageError));
        var lines = none.Err.TrimEnd().Split('\n');
        Assert.That(lines, Is.Unique, none.ToString());
        Assert.That(lines[0], Is.EqualTo("elmo: 'embed' needs INPUT and OUTPUT (usage: elmo embed INPUT OUTPUT [options])."));

        var one = CliHarness.Run("embed", "in.txt");
        Assert.That(one.Exit, Is.EqualTo(ElmoCli.UsageError));
        Assert.That(one.Err, Does.StartWith("elmo: 'embed' needs OUTPUT (usage: elmo embed INPUT OUTPUT [options])."));
    }

    [Test]
    public void IncludePackageIsAcceptedAndIgnoredWithANote()
    {
        using var dir = new TempDir();
        var result = CliHarness.Run("embed", Examples, dir.File("out.hdf5"), "--model", "demo", "--all", "--include-package", "allennlp_models", "--include-package", "my_lib");
        Assert.That(result.Exit, Is.Zero, result.ToString());
        Assert.That(result.Err, Does.Contain("--include-package allennlp_models, my_lib is ignored: elmo loads no Python packages."));
    }

    [Test]
    public void BenchNamesNoDevelopmentPathAndRunsOnTheBuiltInText()
    {
        var help = CliHarness.Run("bench", "--help");
        Assert.That(help.Out, Does.Not.Contain("/work").And.Not.Contain("shared"));
        Assert.That(help.Out, Does.Contain("built-in warm-up text"));

        var run = CliHarness.Run("bench", "--preset", "tiny", "--repetitions", "1", "--threads", "1");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain($"corpus: the built-in warm-up text: {WarmStart.BuiltInText.Count} sentences"));
        Assert.That(run.Out, Does.Contain("peak resident memory").And.Not.Contain("'elmo embed'"), "embed prints no memory figure");
    }

    [Test]
    public void PublishedModelDescriptionsDoNotRepeatTheirNames()
    {
        foreach (var model in PublishedModels.All)
        {
            Assert.That(model.Description, Does.Not.StartWith(model.Name + ":").IgnoreCase, model.Name);
        }
    }

    [Test]
    public void WeightFileMessagesEndInOneMark()
    {
        string weights = Reference.FixtureWeights;
        var e = Assert.Throws<ElmoWeightsException>(() => ElmoWeights.Load(weights, ModelPresets.Demo))!;
        Assert.That(e.Message, Does.EndWith("belong to the same model?"));
    }

    [Test]
    public void CompareCanIgnoreADataset()
    {
        using var dir = new TempDir();
        string ours = dir.File("ours.hdf5"), allennlp = dir.File("allennlp.hdf5");
        Assert.That(CliHarness.Run("embed", Examples, ours, "--model", "demo", "--all", "--quiet").Exit, Is.Zero);
        Assert.That(CliHarness.Run("embed", Examples, allennlp, "--model", "demo", "--all", "--quiet", "--forget-sentences").Exit, Is.Zero);

        var plain = CliHarness.Run("compare", ours, allennlp);
        Assert.That(plain.Exit, Is.EqualTo(ElmoCli.BadInput), "sentence_to_index is only in ours");
        var ignoring = CliHarness.Run("compare", ours, allennlp, "--ignore", "sentence_to_index");
        Assert.That(ignoring.Exit, Is.Zero, ignoring.ToString());
        Assert.That(ignoring.Out, Does.Not.Contain("sentence_to_index").IgnoreCase.Or.Contain("ignored: sentence_to_index"));
        Assert.That(ignoring.Out.TrimEnd().Split('\n').Last(), Does.StartWith("MATCH: all 3 dataset(s) agree").And.Contain("ignored: sentence_to_index"));

        var typo = CliHarness.Run("compare", ours, allennlp, "--ignore", "sentence_to_index", "--ignore", "nope");
        Assert.That(typo.Exit, Is.Zero);
        Assert.That(typo.Err, Does.Contain("--ignore nope: neither file has a dataset 'nope'."));
    }

    [Test]
    public void EtaComesFromTheRateAfterTheFirstBatch()
    {
        var eta = new EtaEstimator();
        // The first batch took 20 s for 100 tokens (start-up included); then 1,000 tokens/s.
        Assert.That(eta.Observe(100, TimeSpan.FromSeconds(20)), Is.Null, "no rate from one report");
        double? rate = eta.Observe(2100, TimeSpan.FromSeconds(22));
        Assert.That(rate, Is.EqualTo(1000).Within(1e-9));
        Assert.That(EtaEstimator.SecondsLeft(2100, 12100, rate), Is.EqualTo(10).Within(1e-9), "10,000 tokens left at 1,000 tokens/s");
        // An estimate from the whole elapsed time would have said 12100 / (2100 / 22) - 22 = 105 s.
        Assert.That(EmbedCommand.Describe(new EmbedProgress(10, 100, 2100, TimeSpan.FromSeconds(22), 12100), rate),
            Is.EqualTo("2100/12100 tokens, 10/100 sentences, 1000 tokens/s, ETA 0:10"));
        Assert.That(EmbedCommand.Describe(new EmbedProgress(1, 100, 100, TimeSpan.FromSeconds(20), 12100), null), Does.EndWith("ETA ?"));
    }

    [Test]
    public void TheBarsPercentageIsTheShareOfTokensItStandsBeside()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", string.Join('\n', Enumerable.Range(1, 12).Select(i => string.Join(' ', Enumerable.Repeat("word", i * i)))) + "\n");
        var error = new StringWriter();
        var console = new CliConsole(new StringWriter(), error, new StringReader("")) { ErrorIsTerminal = true, ProgressInterval = TimeSpan.Zero };
        Assert.That(ElmoCli.Run(["embed", input, dir.File("out.hdf5"), "--model", "demo", "--top", "--batch-size", "3", "--stateless"], console), Is.Zero, error.ToString());
        var bars = Bar().Matches(error.ToString());
        Assert.That(bars, Is.Not.Empty, error.ToString());
        foreach (Match bar in bars)
        {
            double done = double.Parse(bar.Groups["done"].Value, CultureInfo.InvariantCulture), total = double.Parse(bar.Groups["total"].Value, CultureInfo.InvariantCulture);
            Assert.That(int.Parse(bar.Groups["percent"].Value, CultureInfo.InvariantCulture), Is.EqualTo((int)Math.Round(100 * done / total, MidpointRounding.AwayFromZero)), bar.Value);
        }
    }

    [GeneratedRegex(@"\] +(?<percent>\d+)% (?<done>\d+)/(?<total>\d+) tokens, \d+/\d+ sentences")]
    private static partial Regex Bar();
}
