using BenchmarkDotNet.Attributes;
using Elmo.Kernels;
using Elmo.Kernels.Gemm;

namespace Elmo.Benchmarks.Kernels;

/// <summary>
/// <see cref="Gemm.Multiply"/> at the GEMM shapes of the original ELMo (2x4096_512_2048cnn_2xhighway), on the widest path
/// and on the scalar one for scale, with one and two threads.
/// </summary>
public class GemmBenchmarks : IFlopsBenchmark
{
    private float[] _a = [];
    private float[] _c = [];
    private PackedMatrix _b = null!;

    /// <summary>"name M K N": LSTM recurrent and input GEMMs at batch 64 and 1, LSTM projection, highway, projection, convolution.</summary>
    [Params(
        "lstm-x/h-batch64 64 512 16384",
        "lstm-h-batch1 1 512 16384",
        "lstm-proj-batch64 64 4096 512",
        "lstm-proj-batch1 1 4096 512",
        "lstm-x-block 256 512 16384",
        "highway 256 2048 4096",
        "cnn-proj 256 2048 512",
        "conv-w7 794 112 1024")]
    public string Shape { get; set; } = "lstm-x/h-batch64 64 512 16384";

    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    private (int M, int K, int N) Dims
    {
        get
        {
            var parts = Shape.Split(' ');
            return (int.Parse(parts[1]), int.Parse(parts[2]), int.Parse(parts[3]));
        }
    }

    public double WorkPerOperation => 2.0 * Dims.M * Dims.K * Dims.N;

    [GlobalSetup]
    public void Setup()
    {
        var (m, k, n) = Dims;
        var random = new Random(1);
        _a = Enumerable.Range(0, m * k).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        _b = new PackedMatrix(Enumerable.Range(0, k * n).Select(_ => (float)random.NextDouble() - 0.5f).ToArray(), k, n, KernelPaths.Best);
        _c = new float[m * n];
    }

    [Benchmark(Description = "Gemm (widest path)")]
    public void Multiply()
    {
        var (m, k, n) = Dims;
        Gemm.Multiply(_a, m, k, _b, _c, n, accumulate: true, Threads);
    }
}

/// <summary>The same GEMM on each path, at a size the scalar path finishes quickly: what SIMD buys.</summary>
public class GemmPathBenchmarks : IFlopsBenchmark
{
    private float[] _a = [];
    private float[] _c = [];
    private PackedMatrix _b = null!;

    [ParamsSource(nameof(Paths))]
    public KernelPath Path { get; set; } = KernelPath.Scalar;

    public static IEnumerable<KernelPath> Paths => KernelPaths.Supported;

    private const int M = 64, K = 512, N = 1024;

    public double WorkPerOperation => 2.0 * M * K * N;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _a = Enumerable.Range(0, M * K).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        _b = new PackedMatrix(Enumerable.Range(0, K * N).Select(_ => (float)random.NextDouble() - 0.5f).ToArray(), K, N, Path);
        _c = new float[M * N];
    }

    [Benchmark(Description = "Gemm 64x512x1024")]
    public void Multiply() => Gemm.Multiply(_a, M, K, _b, _c, N, accumulate: true);
}
