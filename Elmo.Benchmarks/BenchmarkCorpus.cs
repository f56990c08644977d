namespace Elmo.Benchmarks;

/// <summary>The benchmark corpus (<c>ELMO_BENCH_CORPUS</c>, else <c>../shared/bench/corpus.txt</c> beside the repository).</summary>
internal static class BenchmarkCorpus
{
    public static IReadOnlyList<string[]> Sentences(int count)
    {
        string path = Environment.GetEnvironmentVariable("ELMO_BENCH_CORPUS") ?? Path.Combine(RepositoryRoot(), "..", "shared", "bench", "corpus.txt");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Benchmark corpus not found at {path}; set ELMO_BENCH_CORPUS.", path);
        }
        return File.ReadLines(path)
            .Where(line => !string.IsNullOrWhiteSpace(line))
            .Take(count)
            .Select(line => line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            .ToArray();
    }

    private static string RepositoryRoot()
    {
        // BenchmarkDotNet may run from a generated project's output folder: walk up from both places.
        foreach (string start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "elmo.sln"))) return dir.FullName;
            }
        }
        return Environment.CurrentDirectory;
    }
}
