using BenchmarkDotNet.Attributes;
using Elmo.Kernels.Convolution;

namespace Elmo.Benchmarks.Kernels;

/// <summary>
/// Max over positions, bias and relu after the widest convolution of the original model (1024 filters of width 7 over
/// 50 characters: 44 positions) for a chunk of 16 tokens; the work column counts one operation per value read plus two per output.
/// </summary>
public class MaxPoolBenchmarks : IFlopsBenchmark
{
    private const int Tokens = 16, Chars = 50, Width = 7, Filters = 1024;
    private float[] _convolved = [];
    private float[] _bias = [];
    private float[] _features = [];

    public double WorkPerOperation => (double)Tokens * Filters * (Chars - Width + 1) + 2.0 * Tokens * Filters;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _convolved = Enumerable.Range(0, Tokens * Chars * Filters).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        _bias = Enumerable.Range(0, Filters).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        _features = new float[Tokens * Filters];
    }

    [Benchmark(Baseline = true, Description = "Apply (SIMD)")]
    public void Apply() => MaxPool.Apply(_convolved, Tokens, Chars, Chars - Width + 1, Filters, _bias, tanh: false, _features, Filters);

    [Benchmark(Description = "ApplyReference")]
    public void ApplyReference() => MaxPool.ApplyReference(_convolved, Tokens, Chars, Chars - Width + 1, Filters, _bias, tanh: false, _features, Filters);
}
