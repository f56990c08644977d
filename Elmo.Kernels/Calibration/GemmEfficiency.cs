using System.Diagnostics;
using Elmo.Kernels.Gemm;

namespace Elmo.Kernels.Calibration;

/// <summary>
/// Single-thread GEMM throughput as a fraction of the single-core fp32 FMA peak, both measured in the same process and
/// interleaved round by round (a load change on a shared machine then moves both sides of each ratio together): the
/// figure issue 15 sets goals on (≥ 85 % at the LSTM shapes on AVX-512, ≥ 80 % on AVX2).
/// </summary>
/// <remarks>
/// Each round times, for every shape, a few products of a distinct right-hand matrix each (several matrices are
/// cycled so that B comes from memory as it does in the LSTM, where each step streams its weights), then one round of
/// <see cref="MachineLimits.FmaPeakGflops"/> on one thread. The fraction of a round is that round's GEMM rate over that
/// round's peak (wall-clock, and per CPU second); the report gives the median fraction and the median rates, and the ratio of the best GEMM round to
/// the best peak round (the way <see cref="MachineLimits"/> states limits: other programs only ever slow a round down,
/// so on a shared machine the best rounds are the nearest to what the code does on its own).
/// </remarks>
public static class GemmEfficiency
{
    /// <summary>The two LSTM products of the original ELMo at batch 64: the recurrent/input projection of a step (M × K × N = 64 × 512 × 16384) and the cell-to-projection product (64 × 4096 × 512).</summary>
    public static IReadOnlyList<(int M, int K, int N)> LstmShapes { get; } = [(64, 512, 16384), (64, 4096, 512)];

    /// <summary>Measures <paramref name="shapes"/> (default <see cref="LstmShapes"/>) on one thread against the one-thread peak, interleaved.</summary>
    /// <param name="shapes">M × K × N of each product.</param>
    /// <param name="rounds">Rounds; medians are reported.</param>
    /// <param name="matrixBytes">Bytes of distinct B matrices cycled per shape (default 256 MiB, beyond any L3 share).</param>
    /// <returns>One result per shape.</returns>
    public static IReadOnlyList<GemmEfficiencyResult> Measure(IReadOnlyList<(int M, int K, int N)>? shapes = null, int rounds = 9, long matrixBytes = 256L << 20)
    {
        shapes ??= LstmShapes;
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        var random = new Random(1);
        var cases = shapes.Select(s =>
        {
            long bBytes = 4L * s.K * s.N;
            int copies = (int)Math.Clamp(matrixBytes / Math.Max(1, bBytes), 1, 64);
            var source = new float[(long)s.K * s.N];
            var b = new PackedMatrix[copies];
            for (int i = 0; i < copies; i++)
            {
                for (long j = 0; j < source.LongLength; j++) source[j] = (float)random.NextDouble() - 0.5f;
                b[i] = new PackedMatrix(source, s.K, s.N);
            }
            var a = new float[(long)s.M * s.K];
            for (long j = 0; j < a.LongLength; j++) a[j] = (float)random.NextDouble() - 0.5f;
            // Enough products for ~50 ms at 100 GFLOP/s, and at least one pass over the matrices.
            int calls = (int)Math.Max(copies, 5e9 / (2.0 * s.M * s.K * s.N));
            return (Shape: s, A: a, B: b, C: new float[(long)s.M * s.N], Calls: calls);
        }).ToArray();

        // Warm-up: every kernel at its final optimisation level, the peak loop too.
        foreach (var c in cases) Gemm.Gemm.Multiply(c.A, c.Shape.M, c.Shape.K, c.B[0], c.C, c.Shape.N, accumulate: false);
        MachineLimits.FmaPeakGflops(1, 1);

        var gflops = cases.Select(_ => new List<double>()).ToArray();
        var cpuGflops = cases.Select(_ => new List<double>()).ToArray();
        var peaks = new List<double>();
        var cpuPeaks = new List<double>();
        int width = KernelPaths.Width(KernelPaths.Best);
        int next = 0;
        for (int r = 0; r < rounds; r++)
        {
            for (int i = 0; i < cases.Length; i++)
            {
                var c = cases[i];
                var (seconds, cpu) = Time(() =>
                {
                    for (int j = 0; j < c.Calls; j++)
                    {
                        Gemm.Gemm.Multiply(c.A, c.Shape.M, c.Shape.K, c.B[next++ % c.B.Length], c.C, c.Shape.N, accumulate: false);
                    }
                });
                double flop = 2.0 * c.Shape.M * c.Shape.K * c.Shape.N * c.Calls;
                gflops[i].Add(flop / seconds / 1e9);
                cpuGflops[i].Add(flop / cpu / 1e9);
            }
            {
                var (seconds, cpu) = Time(() => MachineLimits.FmaChains(PeakIterations));
                double flop = PeakIterations * 12.0 * width * 2;
                peaks.Add(flop / seconds / 1e9);
                cpuPeaks.Add(flop / cpu / 1e9);
            }
        }

        return cases.Select((c, i) => new GemmEfficiencyResult(
            c.Shape.M, c.Shape.K, c.Shape.N, KernelPaths.Best, rounds,
            Median(gflops[i]), Median(peaks), Median(gflops[i].Select((g, r) => g / peaks[r])),
            gflops[i].Select((g, r) => g / peaks[r]).Min(), gflops[i].Select((g, r) => g / peaks[r]).Max(),
            gflops[i].Max(), peaks.Max(),
            Median(cpuGflops[i].Select((g, r) => g / cpuPeaks[r])))).ToArray();
    }

    /// <summary>Iterations of the peak loop per round (12 FMAs each: ~35 ms at AVX-512 on a current core).</summary>
    private const long PeakIterations = 20_000_000;

    /// <summary>Wall-clock and process CPU seconds of <paramref name="work"/> (the process runs nothing else meanwhile).</summary>
    private static (double Seconds, double Cpu) Time(Action work)
    {
        var cpu0 = Environment.CpuUsage.TotalTime;
        long start = Stopwatch.GetTimestamp();
        work();
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        double cpu = (Environment.CpuUsage.TotalTime - cpu0).TotalSeconds;
        return (seconds, Math.Max(cpu, 1e-6));
    }

    private static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}

/// <summary>One shape of <see cref="GemmEfficiency.Measure"/>.</summary>
/// <param name="M">Rows of A and C.</param>
/// <param name="K">Inner dimension.</param>
/// <param name="N">Columns of B and C.</param>
/// <param name="Path">Kernel path of the product and of the peak loop.</param>
/// <param name="Rounds">Rounds measured.</param>
/// <param name="Gflops">Median single-thread GEMM rate, GFLOP/s.</param>
/// <param name="PeakGflops">Median single-thread FMA peak of the same rounds, GFLOP/s.</param>
/// <param name="Fraction">Median over the rounds of (GEMM rate ÷ that round's peak).</param>
/// <param name="FractionMin">Lowest fraction of a round.</param>
/// <param name="FractionMax">Highest fraction of a round.</param>
/// <param name="BestGflops">Best single-thread GEMM round, GFLOP/s.</param>
/// <param name="BestPeakGflops">Best single-thread FMA peak round, GFLOP/s.</param>
/// <param name="CpuFraction">Median over the rounds of the same ratio with both rates per second of process CPU time
/// instead of wall-clock time: what the GEMM reaches while it holds a core, without the time other programs took the
/// core away (on a loaded machine the wall-clock ratios mostly measure that).</param>
public sealed record GemmEfficiencyResult(int M, int K, int N, KernelPath Path, int Rounds, double Gflops, double PeakGflops, double Fraction, double FractionMin, double FractionMax, double BestGflops, double BestPeakGflops, double CpuFraction)
{
    /// <summary>Best GEMM round ÷ best peak round.</summary>
    public double BestFraction => BestGflops / BestPeakGflops;
}
