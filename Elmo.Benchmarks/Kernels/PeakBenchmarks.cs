using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using Elmo.Kernels;
using Elmo.Kernels.Calibration;

namespace Elmo.Benchmarks.Kernels;

/// <summary>
/// The machine's attainable fp32 peak, measured: twelve independent fused multiply-add chains on the widest vector path
/// (enough to cover the FMA latency on two pipes), nothing loaded from memory, on one and on two threads. Run it in the
/// same invocation as <see cref="GemmBenchmarks"/> to state GEMM figures as a fraction of peak measured in one run:
/// <c>--filter '*Peak*' '*GemmBenchmarks*'</c>. On a shared machine the two-thread figure also shows how much of the
/// second core other jobs left.
/// </summary>
public class PeakBenchmarks : IFlopsBenchmark
{
    /// <summary>Loop iterations per thread and invocation (12 FMAs per iteration).</summary>
    private const int Iterations = 1_000_000;

    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    public double WorkPerOperation => 2.0 * 12 * Iterations * Width * Threads;

    private static int Width => KernelPaths.Best switch
    {
        KernelPath.Vector512 => Vector512<float>.Count,
        KernelPath.Vector256 => Vector256<float>.Count,
        KernelPath.Vector128 => Vector128<float>.Count,
        _ => 1,
    };

    [Benchmark(Description = "FMA chains (widest path)")]
    public float Fma()
    {
        if (Threads == 1) return Chains();
        var sums = new float[Threads];
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t => sums[t] = Chains());
        return sums.Sum();
    }

    // The loop of MachineLimits (what elmo bench measures), whose machine code keeps all twelve accumulators in
    // registers; a generic version over IVectorOps was not checked and is not used.
    private static float Chains() => MachineLimits.FmaChains(Iterations);
}
