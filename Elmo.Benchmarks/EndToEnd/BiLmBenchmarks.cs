using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Elmo.Core;

namespace Elmo.Benchmarks.EndToEnd;

/// <summary>
/// The whole biLM, stateless, on the first 128 sentences of the benchmark corpus at batch size 64 in file order (the
/// setting of AllenNLP's 197 tokens/s), for random weights of the tiny, small and original architectures. Each
/// invocation embeds all 128 sentences; the tokens/s column is the figure to compare with <c>elmo bench</c>, and the
/// ceiling column its fraction of the compute ceiling measured in the same run (<see cref="CeilingColumn"/>).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class BiLmBenchmarks : ICeilingBenchmark
{
    private const int Sentences = 128, BatchSize = 64;
    private ElmoSession _session = null!;
    private IReadOnlyList<IReadOnlyList<string>>[] _batches = [];

    [Params("tiny", "small", "original")]
    public string Preset { get; set; } = "tiny";

    public double WorkPerOperation => BenchmarkCorpus.Sentences(Sentences).Sum(s => s.Length);

    /// <summary>Runs one invocation (in the process that asks: the summary's host) and counts its GEMM FLOP.</summary>
    public double FlopsPerOperation
    {
        get
        {
            Setup();
            long before = Elmo.Kernels.Gemm.GemmCounters.Flops;
            Embed();
            return Elmo.Kernels.Gemm.GemmCounters.Flops - before;
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        var model = new ElmoModel(RandomWeights.Create(ModelPresets.Get(Preset), 1));
        _session = model.CreateSession(StateMode.Stateless);
        _batches = BenchmarkCorpus.Sentences(Sentences).Chunk(BatchSize).Select(b => (IReadOnlyList<IReadOnlyList<string>>)b).ToArray();
    }

    [Benchmark(Description = "biLM, 128 sentences, batch 64")]
    public int Embed()
    {
        int positions = 0;
        foreach (var batch in _batches) positions += _session.Run(batch).Timesteps;
        return positions;
    }
}
