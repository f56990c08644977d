using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using Elmo.Kernels;
using Elmo.Kernels.Simd;

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

    private static float Chains() => KernelPaths.Best switch
    {
        KernelPath.Vector512 => Chains<Vector512Ops, Vector512<float>>(),
        KernelPath.Vector256 => Chains<Vector256Ops, Vector256<float>>(),
        KernelPath.Vector128 => Chains<Vector128Ops, Vector128<float>>(),
        _ => Chains<ScalarOps, float>(),
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Chains<TOps, TVec>()
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        TVec x = TOps.Broadcast(0.999f), y = TOps.Broadcast(1e-4f);
        TVec a0 = TOps.Broadcast(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (int i = 0; i < Iterations; i++)
        {
            a0 = TOps.MultiplyAdd(a0, x, y); a1 = TOps.MultiplyAdd(a1, x, y); a2 = TOps.MultiplyAdd(a2, x, y);
            a3 = TOps.MultiplyAdd(a3, x, y); a4 = TOps.MultiplyAdd(a4, x, y); a5 = TOps.MultiplyAdd(a5, x, y);
            a6 = TOps.MultiplyAdd(a6, x, y); a7 = TOps.MultiplyAdd(a7, x, y); a8 = TOps.MultiplyAdd(a8, x, y);
            a9 = TOps.MultiplyAdd(a9, x, y); a10 = TOps.MultiplyAdd(a10, x, y); a11 = TOps.MultiplyAdd(a11, x, y);
        }
        TVec s = TOps.Add(TOps.Add(TOps.Add(a0, a1), TOps.Add(a2, a3)), TOps.Add(TOps.Add(a4, a5), TOps.Add(a6, a7)));
        s = TOps.Add(s, TOps.Add(TOps.Add(a8, a9), TOps.Add(a10, a11)));
        float[] lanes = new float[32];
        TOps.Store(s, ref lanes[0]);
        return lanes[0];
    }
}
