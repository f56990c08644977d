using System.Xml.Linq;
using Elmo.Tests.Support;

namespace Elmo.Tests.Shipping;

/// <summary>
/// The suite in a copy of the repository with no <c>../shared</c> beside it: reference tests skip (none fails because
/// the data is absent), and with <c>ELMO_REFERENCE_DIR</c> pointing at a folder without the files they fail.
/// Runs the already built test assembly from the copy (no rebuild); the shipping checks stay off in the child runs.
/// </summary>
[TestFixture]
[Category(ShipChecks.Category)]
public class ReferenceFreeRunTests
{
    private string _root = "";
    private string _assembly = "";

    [OneTimeSetUp]
    public void CopyTheRepository()
    {
        ShipChecks.Require();
        // <tmp>/elmo-anywhere-*/repo: nothing called "shared" beside it.
        _root = Path.Combine(Directory.CreateTempSubdirectory("elmo-anywhere-").FullName, "repo");
        Directory.CreateDirectory(_root);
        ShipChecks.CopySources(_root);
        string built = Path.GetRelativePath(Reference.RepoRoot, AppContext.BaseDirectory);
        ShipChecks.CopyTree(AppContext.BaseDirectory, Path.Combine(_root, built));
        _assembly = Path.Combine(_root, built, Path.GetFileName(typeof(ReferenceFreeRunTests).Assembly.Location));
        Assert.That(Directory.Exists(Path.Combine(_root, "..", "shared")), Is.False);
    }

    [OneTimeTearDown]
    public void Remove()
    {
        if (_root.Length > 0) Directory.Delete(Path.GetDirectoryName(_root)!, recursive: true);
    }

    private ProcessResult Test(string? referenceDir, params string[] extra) =>
        ShipChecks.Run(ShipChecks.Dotnet, ["test", _assembly, .. extra], _root,
            new Dictionary<string, string?> { ["ELMO_REFERENCE_DIR"] = referenceDir, [ShipChecks.Variable] = null },
            TimeSpan.FromMinutes(10));

    [Test]
    public void WithoutReferenceDataTheSuiteSkipsAndNothingFails()
    {
        string results = Path.Combine(Path.GetDirectoryName(_root)!, "results");
        // The on-demand measurement probes ([Explicit], category AccuracyProbe) are left out: the trx file lists
        // explicit tests as not executed while the console summary does not count them alike.
        var result = Test(null, "--filter", "TestCategory!=AccuracyProbe",
            "--logger", "trx;LogFileName=anywhere.trx", "--results-directory", results);
        var (failed, passed, skipped) = ShipChecks.Summary(result);
        TestContext.Out.WriteLine($"without ../shared: {passed} passed, {failed} failed, {skipped} skipped");
        Assert.That(failed, Is.Zero, result.ToString());
        Assert.That(result.Exit, Is.Zero, result.ToString());
        Assert.That(passed, Is.GreaterThan(100), "the tests that need no reference data still run");

        // Every skipped test says why; the reference tests say the data is missing.
        var trx = XDocument.Load(Path.Combine(results, "anywhere.trx"));
        XNamespace ns = trx.Root!.Name.Namespace;
        var reasons = trx.Descendants(ns + "UnitTestResult").Where(r => (string?)r.Attribute("outcome") == "NotExecuted")
            .Select(r => (Name: (string?)r.Attribute("testName"), Reason: r.Descendants(ns + "Message").FirstOrDefault()?.Value ?? "")).ToList();
        Assert.That(reasons, Has.Count.EqualTo(skipped));
        Assert.That(reasons.Where(r => r.Reason.Trim().Length == 0).Select(r => r.Name), Is.Empty, "skipped without a reason");
        Assert.That(reasons.Count(r => r.Reason.Contains("Reference data not found")), Is.GreaterThan(100));
    }

    [Test]
    public void WithReferenceDirSetAndFilesMissingReferenceTestsFail()
    {
        string empty = Path.Combine(Path.GetDirectoryName(_root)!, "empty-reference");
        Directory.CreateDirectory(empty);
        var result = Test(empty, "--filter", "FullyQualifiedName~BilmTfFixtureTests");
        var (failed, passed, _) = ShipChecks.Summary(result);
        Assert.That(failed, Is.GreaterThan(0), result.ToString());
        Assert.That(passed, Is.Zero, result.ToString());
        Assert.That(result.Out, Does.Contain("Reference file missing"), result.ToString());
    }
}
