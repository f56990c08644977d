using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Elmo.Kernels.Calibration;

/// <summary>
/// The two physical limits of this machine that bound the engine, measured rather than assumed: the fp32 fused
/// multiply-add peak (twelve independent FMA chains on the widest vector path, nothing loaded from memory) and the
/// memory read bandwidth (threads summing disjoint parts of an array far larger than the caches), each on one thread
/// and on every core at once. The same loops as <c>../shared/bench/peak/fmapeak.c</c> and <c>membw.c</c>.
/// </summary>
/// <remarks>
/// Every figure is the best of several rounds (other programs only ever slow a round down). The FMA loop keeps its
/// twelve accumulators and two operands in registers (14 of the 16 ymm / 32 zmm registers; checked with
/// <c>DOTNET_JitDisasm=FmaChains*</c>: a loop whose accumulators were spilled to the stack measured a third of the
/// true peak). All-core figures add each thread's own rate, as the C loops do.
/// </remarks>
public static class MachineLimits
{
    /// <summary>FMA-loop iterations per round and thread (12 FMAs each: ~20–60 ms per round on current cores).</summary>
    private const long FmaIterations = 20_000_000;

    /// <summary>Measures this machine's limits: FMA peak and read bandwidth, on one thread and on <paramref name="threads"/>.</summary>
    /// <param name="threads">Threads for the all-core figures (default: the processor count).</param>
    /// <param name="rounds">Rounds per figure; the best is kept.</param>
    /// <param name="bandwidthBytes">Size of the array the bandwidth loop reads (default 256 MiB: far beyond any L3 of a 2-core share).</param>
    /// <returns>The figures.</returns>
    public static MachineCalibration Measure(int? threads = null, int rounds = 5, long bandwidthBytes = 256L << 20)
    {
        int t = threads ?? Environment.ProcessorCount;
        ArgumentOutOfRangeException.ThrowIfLessThan(t, 1, nameof(threads));
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        var path = KernelPaths.Best;
        double peak1 = FmaPeakGflops(1, rounds), peakAll = t == 1 ? peak1 : FmaPeakGflops(t, rounds);
        double bw1 = ReadBandwidthGBs(1, rounds, bandwidthBytes), bwAll = t == 1 ? bw1 : ReadBandwidthGBs(t, rounds, bandwidthBytes);
        return new MachineCalibration(path, t, peak1, peakAll, bw1, bwAll);
    }

    /// <summary>The fp32 FMA rate of <paramref name="threads"/> threads running the twelve-chain loop at once, in GFLOP/s (2 per FMA lane); best of <paramref name="rounds"/>.</summary>
    /// <param name="threads">Threads running the loop side by side.</param>
    /// <param name="rounds">Rounds; the best is returned.</param>
    /// <returns>GFLOP/s, summed over the threads.</returns>
    public static double FmaPeakGflops(int threads, int rounds = 5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        var path = KernelPaths.Best;
        int width = KernelPaths.Width(path);
        var seeds = new float[] { 0.999999f, 1e-7f };
        FmaChains(path, 1000, seeds); // compile at full optimisation before timing
        double best = 0;
        for (int r = 0; r < rounds; r++)
        {
            double gflops = SideBySide(threads, () =>
            {
                long start = Stopwatch.GetTimestamp();
                FmaChains(path, FmaIterations, seeds);
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                return FmaIterations * 12.0 * width * 2 / seconds / 1e9;
            });
            best = Math.Max(best, gflops);
        }
        return best;
    }

    /// <summary>The rate at which <paramref name="threads"/> threads together read memory (each summing its part of one <paramref name="bytes"/>-byte array), in GB/s (10⁹ bytes); best of <paramref name="rounds"/>.</summary>
    /// <param name="threads">Threads reading side by side, each its own contiguous part.</param>
    /// <param name="rounds">Rounds; the best is returned.</param>
    /// <param name="bytes">Array size (a multiple of 64 bytes per thread is used).</param>
    /// <returns>GB/s, summed over the threads.</returns>
    public static unsafe double ReadBandwidthGBs(int threads, int rounds = 5, long bytes = 256L << 20)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        long perThread = bytes / threads / 256 * 256;
        ArgumentOutOfRangeException.ThrowIfLessThan(perThread, 256, nameof(bytes));
        float* data = (float*)NativeMemory.AlignedAlloc((nuint)(perThread * threads), 64);
        try
        {
            // Touch every page (distinct values, so nothing is a shared zero page).
            long count = perThread * threads / sizeof(float);
            for (long i = 0; i < count; i++) data[i] = 1e-9f * (i & 1023);
            Sum(data, 1024);
            double best = 0;
            for (int r = 0; r < rounds; r++)
            {
                double gbs = SideBySide(threads, w =>
                {
                    float* part = data + w * (perThread / sizeof(float));
                    long start = Stopwatch.GetTimestamp();
                    float s = Sum(part, perThread / sizeof(float));
                    double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                    return s == 12345f ? 0 : perThread / seconds / 1e9;
                });
                best = Math.Max(best, gbs);
            }
            return best;
        }
        finally
        {
            NativeMemory.AlignedFree(data);
        }
    }

    /// <summary>Starts <paramref name="threads"/> threads together (a barrier), runs <paramref name="work"/> on each and sums what they return.</summary>
    private static double SideBySide(int threads, Func<double> work) => SideBySide(threads, _ => work());

    private static double SideBySide(int threads, Func<int, double> work)
    {
        if (threads == 1) return work(0);
        var results = new double[threads];
        using var barrier = new Barrier(threads);
        var workers = new Thread[threads];
        for (int w = 0; w < threads; w++)
        {
            int index = w;
            workers[w] = new Thread(() =>
            {
                barrier.SignalAndWait();
                results[index] = work(index);
            }, maxStackSize: 256 << 10) { IsBackground = true, Name = "elmo-calibration" };
            workers[w].Start();
        }
        foreach (var worker in workers) worker.Join();
        return results.Sum();
    }

    /// <summary>Runs the twelve-chain FMA loop <paramref name="iterations"/> times on the widest path (12 FMAs of <see cref="KernelPaths.Width"/> lanes each); for benchmarks that time it themselves.</summary>
    internal static float FmaChains(long iterations) => FmaChains(KernelPaths.Best, iterations, [0.999999f, 1e-7f]);

    private static float FmaChains(KernelPath path, long iterations, float[] seeds) => path switch
    {
        KernelPath.Vector512 => FmaChains512(iterations, seeds),
        KernelPath.Vector256 => FmaChains256(iterations, seeds),
        KernelPath.Vector128 => FmaChains128(iterations, seeds),
        _ => FmaChainsScalar(iterations, seeds),
    };

    // Twelve accumulators + the two operands = 14 zmm registers, no memory operand in the loop (checked with
    // DOTNET_JitDisasm=FmaChains512: 12 vfmadd213ps zmm, reg, reg per iteration, nothing spilled). The operands come
    // from an array so that the JIT cannot fold the chains, and the accumulators start at different values so that
    // it cannot merge them.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float FmaChains512(long iterations, float[] seeds)
    {
        var m = Vector512.Create(seeds[0]);
        var c = Vector512.Create(seeds[1]);
        Vector512<float> a0 = Vector512.Create(1.00f), a1 = Vector512.Create(1.01f), a2 = Vector512.Create(1.02f), a3 = Vector512.Create(1.03f);
        Vector512<float> a4 = Vector512.Create(1.04f), a5 = Vector512.Create(1.05f), a6 = Vector512.Create(1.06f), a7 = Vector512.Create(1.07f);
        Vector512<float> a8 = Vector512.Create(1.08f), a9 = Vector512.Create(1.09f), a10 = Vector512.Create(1.10f), a11 = Vector512.Create(1.11f);
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c); a2 = Vector512.FusedMultiplyAdd(a2, m, c);
            a3 = Vector512.FusedMultiplyAdd(a3, m, c); a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c); a8 = Vector512.FusedMultiplyAdd(a8, m, c);
            a9 = Vector512.FusedMultiplyAdd(a9, m, c); a10 = Vector512.FusedMultiplyAdd(a10, m, c); a11 = Vector512.FusedMultiplyAdd(a11, m, c);
        }
        return Vector512.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }

    // The same on ymm: 14 of 16 registers.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float FmaChains256(long iterations, float[] seeds)
    {
        var m = Vector256.Create(seeds[0]);
        var c = Vector256.Create(seeds[1]);
        Vector256<float> a0 = Vector256.Create(1.00f), a1 = Vector256.Create(1.01f), a2 = Vector256.Create(1.02f), a3 = Vector256.Create(1.03f);
        Vector256<float> a4 = Vector256.Create(1.04f), a5 = Vector256.Create(1.05f), a6 = Vector256.Create(1.06f), a7 = Vector256.Create(1.07f);
        Vector256<float> a8 = Vector256.Create(1.08f), a9 = Vector256.Create(1.09f), a10 = Vector256.Create(1.10f), a11 = Vector256.Create(1.11f);
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c); a2 = Vector256.FusedMultiplyAdd(a2, m, c);
            a3 = Vector256.FusedMultiplyAdd(a3, m, c); a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c); a8 = Vector256.FusedMultiplyAdd(a8, m, c);
            a9 = Vector256.FusedMultiplyAdd(a9, m, c); a10 = Vector256.FusedMultiplyAdd(a10, m, c); a11 = Vector256.FusedMultiplyAdd(a11, m, c);
        }
        return Vector256.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float FmaChains128(long iterations, float[] seeds)
    {
        var m = Vector128.Create(seeds[0]);
        var c = Vector128.Create(seeds[1]);
        Vector128<float> a0 = Vector128.Create(1.00f), a1 = Vector128.Create(1.01f), a2 = Vector128.Create(1.02f), a3 = Vector128.Create(1.03f);
        Vector128<float> a4 = Vector128.Create(1.04f), a5 = Vector128.Create(1.05f), a6 = Vector128.Create(1.06f), a7 = Vector128.Create(1.07f);
        Vector128<float> a8 = Vector128.Create(1.08f), a9 = Vector128.Create(1.09f), a10 = Vector128.Create(1.10f), a11 = Vector128.Create(1.11f);
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector128.FusedMultiplyAdd(a0, m, c); a1 = Vector128.FusedMultiplyAdd(a1, m, c); a2 = Vector128.FusedMultiplyAdd(a2, m, c);
            a3 = Vector128.FusedMultiplyAdd(a3, m, c); a4 = Vector128.FusedMultiplyAdd(a4, m, c); a5 = Vector128.FusedMultiplyAdd(a5, m, c);
            a6 = Vector128.FusedMultiplyAdd(a6, m, c); a7 = Vector128.FusedMultiplyAdd(a7, m, c); a8 = Vector128.FusedMultiplyAdd(a8, m, c);
            a9 = Vector128.FusedMultiplyAdd(a9, m, c); a10 = Vector128.FusedMultiplyAdd(a10, m, c); a11 = Vector128.FusedMultiplyAdd(a11, m, c);
        }
        return Vector128.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float FmaChainsScalar(long iterations, float[] seeds)
    {
        float m = seeds[0], c = seeds[1];
        float a0 = 1.00f, a1 = 1.01f, a2 = 1.02f, a3 = 1.03f, a4 = 1.04f, a5 = 1.05f, a6 = 1.06f, a7 = 1.07f, a8 = 1.08f, a9 = 1.09f, a10 = 1.10f, a11 = 1.11f;
        for (long i = 0; i < iterations; i++)
        {
            a0 = MathF.FusedMultiplyAdd(a0, m, c); a1 = MathF.FusedMultiplyAdd(a1, m, c); a2 = MathF.FusedMultiplyAdd(a2, m, c);
            a3 = MathF.FusedMultiplyAdd(a3, m, c); a4 = MathF.FusedMultiplyAdd(a4, m, c); a5 = MathF.FusedMultiplyAdd(a5, m, c);
            a6 = MathF.FusedMultiplyAdd(a6, m, c); a7 = MathF.FusedMultiplyAdd(a7, m, c); a8 = MathF.FusedMultiplyAdd(a8, m, c);
            a9 = MathF.FusedMultiplyAdd(a9, m, c); a10 = MathF.FusedMultiplyAdd(a10, m, c); a11 = MathF.FusedMultiplyAdd(a11, m, c);
        }
        return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    }

    /// <summary>Sums <paramref name="count"/> floats (a multiple of 64) with four independent vector accumulators on the widest path.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe float Sum(float* p, long count)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> a = default, b = default, c = default, d = default;
            for (long i = 0; i + 64 <= count; i += 64)
            {
                a += Vector512.Load(p + i); b += Vector512.Load(p + i + 16);
                c += Vector512.Load(p + i + 32); d += Vector512.Load(p + i + 48);
            }
            return Vector512.Sum((a + b) + (c + d));
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> a = default, b = default, c = default, d = default;
            for (long i = 0; i + 32 <= count; i += 32)
            {
                a += Vector256.Load(p + i); b += Vector256.Load(p + i + 8);
                c += Vector256.Load(p + i + 16); d += Vector256.Load(p + i + 24);
            }
            return Vector256.Sum((a + b) + (c + d));
        }
        Vector128<float> e = default, f = default, g = default, h = default;
        for (long i = 0; i + 16 <= count; i += 16)
        {
            e += Vector128.Load(p + i); f += Vector128.Load(p + i + 4);
            g += Vector128.Load(p + i + 8); h += Vector128.Load(p + i + 12);
        }
        return Vector128.Sum((e + f) + (g + h));
    }
}

/// <summary>What <see cref="MachineLimits.Measure"/> found.</summary>
/// <param name="Path">The kernel path the FMA loop ran on (the widest this machine accelerates).</param>
/// <param name="Threads">Threads of the all-core figures.</param>
/// <param name="PeakGflops1">fp32 FMA peak of one thread, GFLOP/s.</param>
/// <param name="PeakGflopsAll">fp32 FMA peak of <paramref name="Threads"/> threads together, GFLOP/s.</param>
/// <param name="ReadGBs1">Memory read bandwidth of one thread, GB/s.</param>
/// <param name="ReadGBsAll">Memory read bandwidth of <paramref name="Threads"/> threads together, GB/s.</param>
public sealed record MachineCalibration(KernelPath Path, int Threads, double PeakGflops1, double PeakGflopsAll, double ReadGBs1, double ReadGBsAll)
{
    /// <summary>The CPU's model name (<c>/proc/cpuinfo</c> on Linux; otherwise the processor architecture).</summary>
    public static string CpuModel { get; } = ReadCpuModel();

    private static string ReadCpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                string? family = null, model = null, name = null;
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                {
                    int colon = line.IndexOf(':');
                    if (colon < 0) continue;
                    string key = line[..colon].Trim(), value = line[(colon + 1)..].Trim();
                    if (key == "model name") name ??= value;
                    else if (key == "cpu family") family ??= value;
                    else if (key == "model") model ??= value;
                    if (line.Length == 0 && name is not null) break;
                }
                if (name is not null) return family is null ? name : $"{name} (family {family}, model {model})";
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
