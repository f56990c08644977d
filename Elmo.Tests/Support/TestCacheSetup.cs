namespace Elmo.Tests;

/// <summary>
/// Points the download and warm-state cache (<c>ELMO_CACHE</c>) at a temporary directory for every test (the CLI's
/// and the library's: a model loaded from a file keeps its warm state there by default), so that they never write
/// into the user's cache, and restores it afterwards.
/// </summary>
[SetUpFixture]
public class TestCacheSetup
{
    private string? _previous;
    private string? _directory;

    /// <summary>The cache directory the tests use by default.</summary>
    internal static string CacheDirectory { get; private set; } = "";

    [OneTimeSetUp]
    public void PointTheCacheAtATemporaryDirectory()
    {
        _previous = Environment.GetEnvironmentVariable(Core.ModelCache.EnvironmentVariable);
        _directory = Directory.CreateTempSubdirectory("elmo-test-cache").FullName;
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
