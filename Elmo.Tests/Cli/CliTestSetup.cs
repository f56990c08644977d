namespace Elmo.Tests.Cli;

/// <summary>
/// Points the download and warm-state cache (<c>ELMO_CACHE</c>) at a temporary directory for the CLI tests, so that
/// they never write into the user's cache, and restores it afterwards.
/// </summary>
[SetUpFixture]
public class CliTestSetup
{
    private string? _previous;
    private string? _directory;

    /// <summary>The cache directory the CLI tests use by default.</summary>
    internal static string CacheDirectory { get; private set; } = "";

    [OneTimeSetUp]
    public void PointTheCacheAtATemporaryDirectory()
    {
        _previous = Environment.GetEnvironmentVariable(Core.ModelCache.EnvironmentVariable);
        _directory = Directory.CreateTempSubdirectory("elmo-cli-cache").FullName;
        CacheDirectory = _directory;
        Environment.SetEnvironmentVariable(Core.ModelCache.EnvironmentVariable, _directory);
    }

    [OneTimeTearDown]
    public void Restore()
    {
        Environment.SetEnvironmentVariable(Core.ModelCache.EnvironmentVariable, _previous);
        if (_directory is not null) Directory.Delete(_directory, recursive: true);
    }
}
