using PureHDF;

namespace Elmo.Tests.Support;

/// <summary>
/// Locates the shared reference data: <c>ELMO_REFERENCE_DIR</c> when set (a missing file then fails the
/// test), else <c>../shared/reference</c> beside the repository (a missing directory then skips the test).
/// Read a reference path or model before an <c>Assert.Throws</c>, never inside its delegate: there the skip would be
/// caught as the wrong exception and fail the test (ReferenceFreeRunTests checks the whole suite without the data).
/// </summary>
internal static class Reference
{
    public static string Dir
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("ELMO_REFERENCE_DIR");
            if (!string.IsNullOrEmpty(env))
            {
                // A relative path is relative to the repository root (where .ci/run sets it), not the test's bin folder.
                return Path.IsPathRooted(env) ? env : Path.GetFullPath(Path.Combine(RepoRoot, env));
            }
            string fallback = Path.Combine(RepoRoot, "..", "shared", "reference");
            if (!Directory.Exists(fallback))
            {
                Assert.Ignore($"Reference data not found at {fallback} and ELMO_REFERENCE_DIR is not set.");
            }
            return Path.GetFullPath(fallback);
        }
    }

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "elmo.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("Cannot find elmo.sln above " + AppContext.BaseDirectory);
        }
    }

    public static string File_(string relative)
    {
        string path = Path.Combine(Dir, relative);
        if (!File.Exists(path))
        {
            Assert.Fail($"Reference file missing: {path}");
        }
        return path;
    }

    public static string FixtureOptions => File_("bilm-tf-fixture/options.json");

    public static string FixtureWeights => File_("bilm-tf-fixture/lm_weights.hdf5");

    private static readonly Lazy<Core.ElmoModel> LazyModel = new(() => Core.ElmoModel.Load(FixtureOptions, FixtureWeights));

    /// <summary>The tiny fixture model, loaded once and shared by all tests (it is immutable).</summary>
    public static Core.ElmoModel TinyModel => LazyModel.Value;

    /// <summary>The 30 fixture sentences, flattened in order.</summary>
    public static List<string[]> Sentences()
    {
        return SentenceGroups().SelectMany(group => group).ToList();
    }

    /// <summary>The fixture's 3 groups of 10 sentences, each whitespace-tokenised.</summary>
    public static string[][][] SentenceGroups() =>
        System.Text.Json.JsonSerializer.Deserialize<string[][]>(File.ReadAllText(File_("bilm-tf-fixture/sentences.json")))!
            .Select(group => group.Select(s => s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).ToArray()).ToArray();

    public static (float[] Data, int[] Shape) ReadDataset(string file, string name)
    {
        using var f = H5File.OpenRead(file);
        var ds = f.Dataset(name);
        return (ds.Read<float[]>(), ds.Space.Dimensions.Select(d => (int)d).ToArray());
    }
}

/// <summary>numpy.allclose-style comparison with a readable failure message.</summary>
internal static class Close
{
    public static void AssertAll(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double atol, double rtol, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), $"{what}: length");
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < actual.Length; i++)
        {
            double excess = Math.Abs((double)actual[i] - expected[i]) - (atol + rtol * Math.Abs(expected[i]));
            if (double.IsNaN(actual[i]) || excess > worst)
            {
                worst = double.IsNaN(actual[i]) ? double.PositiveInfinity : excess;
                worstAt = i;
            }
        }
        if (worstAt >= 0)
        {
            Assert.Fail($"{what}: element {worstAt} is {actual[worstAt]}, expected {expected[worstAt]} (atol {atol}, rtol {rtol}).");
        }
    }

    public static double MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs((double)a[i] - b[i]));
        return m;
    }
}
