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

    /// <summary>M × K × N of each shape name (see docs/performance.md).</summary>
    private static readonly Dictionary<string, (int M, int K, int N)> Shapes = new()
    {
        ["lstm-h-64"] = (64, 512, 16384),   // recurrent (and input) projection of an LSTM step at batch 64
        ["lstm-h-1"] = (1, 512, 16384),     // the same at batch 1
        ["lstm-p-64"] = (64, 4096, 512),    // LSTM cell -> projection at batch 64
        ["lstm-p-1"] = (1, 4096, 512),      // the same at batch 1
        ["lstm-x-256"] = (256, 512, 16384), // input projection of a block of time steps
        ["highway"] = (256, 2048, 4096),    // one highway layer, a chunk of 256 tokens
        ["cnn-proj"] = (256, 2048, 512),    // char CNN projection
        ["conv-w7"] = (794, 112, 1024),     // widest convolution, 16 tokens of 50 characters
    };

    /// <summary>A name from <see cref="Shapes"/>.</summary>
    [Params("lstm-h-64", "lstm-h-1", "lstm-p-64", "lstm-p-1", "lstm-x-256", "highway", "cnn-proj", "conv-w7")]
    public string Shape { get; set; } = "lstm-h-64";

    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    private (int M, int K, int N) Dims => Shapes[Shape];

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

/// <summary>
/// <see cref="Gemm.Multiply"/> with float32, bfloat16 and int8 weights (<see cref="PackedMatrix.ToPrecision"/>) at the
/// LSTM shapes, one thread, cycling through enough distinct matrices (256 MB of float32) that B comes from memory as
/// in the model, not from the L3: batch 1 is bound by the bytes read, batch 64 by the FMA units.
/// </summary>
public class GemmPrecisionBenchmarks : IFlopsBenchmark
{
    private float[] _a = [];
    private float[] _c = [];
    private PackedMatrix[] _b = [];
    private int _next;

    [Params("lstm-h-1", "lstm-p-1", "lstm-h-64", "lstm-p-64")]
    public string Shape { get; set; } = "lstm-h-1";

    [Params(WeightPrecision.Fp32, WeightPrecision.Bf16, WeightPrecision.Int8)]
    public WeightPrecision Precision { get; set; } = WeightPrecision.Fp32;

    private (int M, int K, int N) Dims => Shape switch
    {
        "lstm-h-1" => (1, 512, 16384),
        "lstm-p-1" => (1, 4096, 512),
        "lstm-h-64" => (64, 512, 16384),
        _ => (64, 4096, 512),
    };

    public double WorkPerOperation => 2.0 * Dims.M * Dims.K * Dims.N;

    [GlobalSetup]
    public void Setup()
    {
        var (m, k, n) = Dims;
        var random = new Random(1);
        _a = Enumerable.Range(0, m * k).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        int copies = (int)Math.Max(1, (256L << 20) / (4L * k * n));
        _b = Enumerable.Range(0, copies)
            .Select(_ => new PackedMatrix(Enumerable.Range(0, k * n).Select(_ => (float)random.NextDouble() - 0.5f).ToArray(), k, n).ToPrecision(Precision))
            .ToArray();
        _c = new float[m * n];
    }

    [Benchmark(Description = "Gemm, one thread, B from memory")]
    public void Multiply()
    {
        var (m, k, n) = Dims;
        Gemm.Multiply(_a, m, k, _b[_next], _c, n, accumulate: true);
        _next = (_next + 1) % _b.Length;
    }
}
