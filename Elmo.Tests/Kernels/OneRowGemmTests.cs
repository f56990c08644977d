using Elmo.Kernels;
using Elmo.Kernels.Gemm;
using static Elmo.Tests.Kernels.KernelData;

namespace Elmo.Tests.Kernels;

/// <summary>
/// The one-row product (batch 1: <c>GemvKernels</c>, four panels streamed side by side over all of K) against the same
/// row inside a batch (the tiled micro-kernels), bit for bit, on every path, for K across the accumulation blocks, N
/// across the four-panel groups and the zero-padded last panel, overwriting and adding, and split between threads.
/// </summary>
public class OneRowGemmTests
{
    private const int BatchRows = 64;

    /// <summary>(K, N): depths around <see cref="Gemm.SumBlock"/> and the LSTM's, widths around the 4-panel groups of every path.</summary>
    private static readonly (int K, int N)[] Shapes =
    [
        (1, 1), (5, 37), (127, 261), (128, 128), (129, 130), (300, 300), (513, 1030), (1024, 64), (2048, 97), (4096, 40),
    ];

    private static float[] Multiply(float[] a, int m, int k, PackedMatrix b, float[] c0, bool accumulate, int threads = 1)
    {
        var c = (float[])c0.Clone();
        Gemm.Multiply(a, m, k, b, c, b.Columns, accumulate, threads);
        return c;
    }

    private static void CheckRows(KernelPath? path, int k, int n, int seed, WeightPrecision precision = WeightPrecision.Fp32)
    {
        var a = Uniform(BatchRows * k, seed);
        var values = Uniform(k * n, seed + 1);
        var b = (path is { } p ? Pack(values, k, n, p) : new PackedMatrix(values, k, n)).ToPrecision(precision);
        var c0 = Uniform(BatchRows * n, seed + 2);
        foreach (bool accumulate in new[] { false, true })
        {
            var batch = Multiply(a, BatchRows, k, b, c0, accumulate);
            foreach (int row in new[] { 0, 5, 6, 37, BatchRows - 1 })
            {
                var ai = a.AsSpan(row * k, k).ToArray();
                var ci = c0.AsSpan(row * n, n).ToArray();
                string context = $"{b.Path} {precision} k={k} n={n} row {row} accumulate={accumulate}";
                var one = Multiply(ai, 1, k, b, ci, accumulate);
                AssertBitwiseEqual(one, batch.AsSpan(row * n, n), $"{context}: one row vs its row in a batch of {BatchRows}");
                if (row == 0 && precision == WeightPrecision.Fp32) AssertGemmClose(ai, 1, k, k, values, n, ci, one, n, accumulate, context);
                foreach (int threads in new[] { 2, 3, 4 })
                {
                    AssertBitwiseEqual(Multiply(ai, 1, k, b, ci, accumulate, threads), one, $"{context}, {threads} threads");
                }
            }
        }
    }

    [Test]
    public void OneRowIsItsRowInABatchBitwise([ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        for (int i = 0; i < Shapes.Length; i++) CheckRows(path, Shapes[i].K, Shapes[i].N, seed: 100 * i);
    }

    [Test]
    [Category(KernelCheck)]
    public void OneRowIsItsRowInABatchBitwiseOnTheBestPath()
    {
        // Repeated by the forced-path child runs (ForcedKernelPathTests), where Best is each narrower path in turn.
        for (int i = 0; i < Shapes.Length; i++) CheckRows(null, Shapes[i].K, Shapes[i].N, seed: 7 + 100 * i);
    }

    [Test]
    [Category(KernelCheck)]
    public void ReducedPrecisionRowIsItsRowInABatchBitwise([Values(WeightPrecision.Bf16, WeightPrecision.Int8)] WeightPrecision precision)
    {
        // bfloat16 and int8 rows stream through WidenedKernels (widened in registers) where the machine has them, and
        // through the buffered route elsewhere and for the panels a four-panel group leaves; a batch row always buffers.
        for (int i = 0; i < Shapes.Length; i++) CheckRows(null, Shapes[i].K, Shapes[i].N, seed: 11 + 100 * i, precision);
    }

    [Test]
    [Category(KernelCheck)]
    public void LstmShapesAtBatchOne()
    {
        // The products of a batch-1 LSTM step: h·W_h (1×512×16384, added to the input projection) and hpre·W_P (1×4096×512).
        foreach (var (k, n, accumulate) in new[] { (512, 16384, true), (4096, 512, false) })
        {
            var a = Uniform(6 * k, k);
            var b = new PackedMatrix(Uniform(k * n, n), k, n);
            var c0 = Uniform(6 * n, 3);
            var batch = Multiply(a, 6, k, b, c0, accumulate);
            var one = Multiply(a.AsSpan(2 * k, k).ToArray(), 1, k, b, c0.AsSpan(2 * n, n).ToArray(), accumulate);
            AssertBitwiseEqual(one, batch.AsSpan(2 * n, n), $"1×{k}×{n} vs row 2 of 6");
        }
    }
}
