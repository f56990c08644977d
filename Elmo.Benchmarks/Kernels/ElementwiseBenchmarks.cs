using BenchmarkDotNet.Attributes;
using Elmo.Kernels;

namespace Elmo.Benchmarks.Kernels;

/// <summary>
/// The highway combine (x + σ(g)·(relu(t) − x)) for 256 tokens of 2048 filters, and the projection clip for 64 rows of
/// 512; the work column counts 8 operations per highway element and 2 per clipped value.
/// </summary>
public class ElementwiseBenchmarks : IFlopsBenchmark
{
    private const int Tokens = 256, Filters = 2048, ClipValues = 64 * 512;
    private float[] _x = [];
    private float[] _pre = [];
    private float[] _values = [];

    [Params("highway", "clip")]
    public string Kernel { get; set; } = "highway";

    public double WorkPerOperation => Kernel == "highway" ? 8.0 * Tokens * Filters : 2.0 * ClipValues;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _x = Enumerable.Range(0, Tokens * Filters).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        _pre = Enumerable.Range(0, Tokens * 2 * Filters).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
        _values = Enumerable.Range(0, ClipValues).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
    }

    [Benchmark(Baseline = true, Description = "SIMD")]
    public void Fast()
    {
        if (Kernel == "highway")
        {
            for (int t = 0; t < Tokens; t++) Highway.Combine(_x.AsSpan(t * Filters, Filters), _pre.AsSpan(t * 2 * Filters, 2 * Filters));
        }
        else
        {
            Clip.Apply(_values, 3f);
        }
    }

    [Benchmark(Description = "reference")]
    public void Reference()
    {
        if (Kernel == "highway")
        {
            for (int t = 0; t < Tokens; t++) Highway.CombineReference(_x.AsSpan(t * Filters, Filters), _pre.AsSpan(t * 2 * Filters, 2 * Filters));
        }
        else
        {
            Clip.ApplyReference(_values, 3f);
        }
    }
}
