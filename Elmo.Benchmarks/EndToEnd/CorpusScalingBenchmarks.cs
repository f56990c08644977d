using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Elmo.Core;

namespace Elmo.Benchmarks.EndToEnd;

/// <summary>
/// <c>elmo embed</c> end to end (both passes over a file, the biLM, the HDF5 file written) on 20,000 and 80,000
/// sentences: the benchmark corpus repeated, the tiny architecture (so that the embedder's own costs, which are what
/// could grow faster than the corpus, are not drowned by the biLM), default warm mode, top layer. Time must be linear
/// in the corpus: the 80,000-sentence run within 4.4 times the 20,000-sentence one (docs/performance.md).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class CorpusScalingBenchmarks : ITokensBenchmark
{
    private ElmoModel _model = null!;
    private string _directory = "";
    private string _input = "";

    [Params(20_000, 80_000)]
    public int Sentences { get; set; }

    public double WorkPerOperation
    {
        get
        {
            var corpus = BenchmarkCorpus.Sentences(int.MaxValue);
            return Enumerable.Range(0, Sentences).Sum(i => (double)corpus[i % corpus.Count].Length);
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        _model = new ElmoModel(RandomWeights.Create(ModelPresets.Get("tiny"), 1));
        _directory = Directory.CreateTempSubdirectory("elmo-scaling").FullName;
        _input = Path.Combine(_directory, "corpus.txt");
        var corpus = BenchmarkCorpus.Sentences(int.MaxValue);
        using var writer = new StreamWriter(_input);
        for (int i = 0; i < Sentences; i++)
        {
            writer.WriteLine(string.Join(' ', corpus[i % corpus.Count]));
        }
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_directory, recursive: true);

    [Benchmark(Description = "elmo embed, tiny, top layer")]
    public long Embed() =>
        CorpusEmbedder.Run(_model, CorpusInput.FromFile(_input), Path.Combine(_directory, "out.hdf5"), new EmbedSettings { Layout = OutputLayout.Top }).Tokens;
}
