using Elmo.Kernels;
using Elmo.Kernels.Gemm;
using static Elmo.Tests.Kernels.KernelData;

namespace Elmo.Tests.Kernels;

/// <summary>
/// <see cref="Gemm.Multiply"/> against <see cref="GemmReference"/> on every path (natively where this machine has it,
/// else on emulated vectors), every tail length of N, M and K from 1 to 256, strides, threads, and the bitwise
/// determinism the design promises (per element: one FMA chain from zero per block of <see cref="Gemm.SumBlock"/> k,
/// in k order, the block sums added to C in order).
/// </summary>
public class GemmTests
{
    private static float[] Multiply(float[] a, int m, int lda, PackedMatrix b, float[] c0, int ldc, bool accumulate, int threads = 1)
    {
        var c = (float[])c0.Clone();
        Gemm.Multiply(a, m, lda, b, c, ldc, accumulate, threads);
        return c;
    }

    private static void CheckShape(KernelPath path, int m, int k, int n, bool accumulate, int seed)
    {
        var a = Uniform(m * k, seed);
        var b = Uniform(k * n, seed + 1);
        var c0 = Uniform(m * n, seed + 2);
        var c = Multiply(a, m, k, Pack(b, k, n, path), c0, n, accumulate);
        AssertGemmClose(a, m, k, k, b, n, c0, c, n, accumulate, $"{path} m={m} k={k} n={n} accumulate={accumulate}");
    }

    [Test]
    public void EveryColumnTail([ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        for (int n = 1; n <= 256; n++) CheckShape(path, m: 13, k: 7, n, accumulate: n % 2 == 0, seed: n);
    }

    [Test]
    public void EveryRowTail([ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        for (int m = 1; m <= 256; m++) CheckShape(path, m, k: 5, n: 37, accumulate: m % 2 == 1, seed: 1000 + m);
    }

    [Test]
    public void EveryDepth([ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        // 1…256 covers every tail of a K block; the rest cross one or more block boundaries.
        foreach (int k in Enumerable.Range(1, 256).Concat([257, 300, 384, 511, 512, 513, 640, 777, 1023, 1024, 1025, 1030]))
        {
            CheckShape(path, m: 9, k, n: 19, accumulate: k % 3 == 0, seed: 2000 + k);
        }
    }

    [Test]
    public void LstmLikeShapes([ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        // Scaled-down versions of the ELMo shapes: a wide N from a short K, a narrow N from a long K, a batch of rows.
        CheckShape(path, m: 64, k: 64, n: 520, accumulate: true, seed: 1);
        CheckShape(path, m: 23, k: 520, n: 64, accumulate: false, seed: 2);
        CheckShape(path, m: 1, k: 300, n: 300, accumulate: true, seed: 3);
    }

    [Test]
    public void OverlappingWindowsOfA([ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        // The character convolution: row i of A is the window of w·d values starting at i·d (lda = d < K).
        foreach (var (d, w, chars, n) in new[] { (4, 1, 9, 5), (4, 3, 11, 17), (16, 7, 50, 40), (3, 5, 8, 33) })
        {
            int m = chars - w + 1, k = w * d;
            var a = Uniform(chars * d, 10 + w);
            var b = Uniform(k * n, 20 + w);
            var c0 = new float[m * n];
            var c = Multiply(a, m, d, Pack(b, k, n, path), c0, n, accumulate: false);
            AssertGemmClose(a, m, k, d, b, n, c0, c, n, accumulate: false, $"{path} windows d={d} w={w}");
        }
    }

    [Test]
    public void StridesLeaveOtherColumnsUntouched([ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        foreach (var (m, k, n, lda, ldc) in new[] { (7, 5, 9, 8, 12), (13, 20, 33, 29, 70), (2, 3, 1, 5, 4) })
        {
            var a = Uniform((m - 1) * lda + k, 30 + n);
            var b = Uniform(k * n, 40 + n);
            var c0 = Uniform((m - 1) * ldc + n, 50 + n);
            for (int i = 0; i < m; i++)
            {
                for (int j = n; j < ldc && i * ldc + j < c0.Length; j++) c0[i * ldc + j] = float.NaN; // must stay NaN
            }
            foreach (bool accumulate in new[] { false, true })
            {
                var c = Multiply(a, m, lda, Pack(b, k, n, path), c0, ldc, accumulate);
                AssertGemmClose(a, m, k, lda, b, n, c0, c, ldc, accumulate, $"{path} lda={lda} ldc={ldc}");
                for (int i = 0; i < c.Length; i++)
                {
                    if (i % ldc >= n) Assert.That(float.IsNaN(c[i]), $"{path}: C[{i / ldc},{i % ldc}] beyond N was written");
                }
            }
        }
    }

    [Test]
    public void AllPathsAreBitwiseIdentical()
    {
        // Each element is the same sum of the same fused multiply-add chains (one per block of Gemm.SumBlock k, in order)
        // on every path (the scalar path uses MathF.FusedMultiplyAdd), so the paths agree to the bit, emulated ones included.
        foreach (var (m, k, n) in new[] { (1, 1, 1), (7, 300, 45), (20, 513, 70), (64, 64, 100) })
        {
            var a = Uniform(m * k, m + k);
            var b = Uniform(k * n, n);
            var c0 = Uniform(m * n, 7);
            foreach (bool accumulate in new[] { false, true })
            {
                var scalar = Multiply(a, m, k, Pack(b, k, n, KernelPath.Scalar), c0, n, accumulate);
                foreach (var path in AllPaths)
                {
                    AssertBitwiseEqual(Multiply(a, m, k, Pack(b, k, n, path), c0, n, accumulate), scalar, $"{path} vs Scalar, m={m} k={k} n={n} accumulate={accumulate}");
                }
            }
        }
    }

    [Test]
    [Category(KernelCheck)]
    public void BestPathMatchesReferenceAndScalar()
    {
        // The quick check that the forced-hardware runs repeat: tails of every dimension on KernelPaths.Best.
        var path = KernelPaths.Best;
        foreach (int t in new[] { 1, 2, 3, 5, 6, 7, 8, 11, 12, 13, 15, 16, 17, 31, 32, 33, 47, 48, 49, 64, 65, 97 })
        {
            CheckShape(path, m: t, k: 9, n: 21, accumulate: t % 2 == 0, seed: t);
            CheckShape(path, m: 7, k: 9, n: t, accumulate: t % 2 == 1, seed: 100 + t);
            CheckShape(path, m: 5, k: t + 250, n: 18, accumulate: true, seed: 200 + t);
        }
        var a = Uniform(29 * 300, 1);
        var b = Uniform(300 * 77, 2);
        var c0 = Uniform(29 * 77, 3);
        AssertBitwiseEqual(
            Multiply(a, 29, 300, new PackedMatrix(b, 300, 77, path), c0, 77, accumulate: true),
            Multiply(a, 29, 300, new PackedMatrix(b, 300, 77, KernelPath.Scalar), c0, 77, accumulate: true),
            $"{path} vs Scalar");
    }

    [Test]
    [Category(KernelCheck)]
    public void ThreadsGiveBitwiseIdenticalResults()
    {
        // Big enough for the column split to engage with 2, 3 and 4 workers.
        foreach (var (m, k, n) in new[] { (20, 300, 700), (3, 1024, 2048), (64, 512, 1030) })
        {
            var a = Uniform(m * k, 1);
            var b = new PackedMatrix(Uniform(k * n, 2), k, n);
            var c0 = Uniform(m * n, 3);
            foreach (bool accumulate in new[] { false, true })
            {
                var single = Multiply(a, m, k, b, c0, n, accumulate, threads: 1);
                foreach (int threads in new[] { 2, 3, 4, 16 })
                {
                    AssertBitwiseEqual(Multiply(a, m, k, b, c0, n, accumulate, threads), single, $"threads={threads} m={m} k={k} n={n} accumulate={accumulate}");
                }
            }
        }
    }

    [Test]
    [Category(KernelCheck)]
    public void RowsAreIndependentOfBatchCompositionBitwise()
    {
        // A row's result depends only on that row: any subset, order, count or alignment of rows gives the same bits.
        const int m = 50, k = 600, n = 70;
        var a = Uniform(m * k, 5);
        var b = new PackedMatrix(Uniform(k * n, 6), k, n);
        var full = Multiply(a, m, k, b, new float[m * n], n, accumulate: false);
        var random = new Random(7);
        for (int trial = 0; trial < 60; trial++)
        {
            int count = trial < m ? trial % 17 + 1 : m;
            var rows = Enumerable.Range(0, m).OrderBy(_ => random.Next()).Take(count).ToArray();
            int offset = trial % 5; // misalign A and C
            var sub = new float[offset + count * k];
            for (int r = 0; r < count; r++) a.AsSpan(rows[r] * k, k).CopyTo(sub.AsSpan(offset + r * k));
            var c = new float[offset + count * n];
            Gemm.Multiply(sub.AsSpan(offset), count, k, b, c.AsSpan(offset), n, accumulate: false, threads: 1 + trial % 2);
            for (int r = 0; r < count; r++)
            {
                AssertBitwiseEqual(c.AsSpan(offset + r * n, n), full.AsSpan(rows[r] * n, n), $"trial {trial}: row {rows[r]} as row {r} of {count}");
            }
        }
    }

    [Test]
    public void EmptyDimensions()
    {
        var b = new PackedMatrix(Uniform(3 * 4, 1), 3, 4);
        var c = Uniform(8, 2);
        var before = (float[])c.Clone();
        Gemm.Multiply(ReadOnlySpan<float>.Empty, 0, 3, b, c, 4, accumulate: false);
        AssertBitwiseEqual(c, before, "m = 0 writes nothing");

        var empty = new PackedMatrix(0, 4);
        Gemm.Multiply(ReadOnlySpan<float>.Empty, 2, 0, empty, c, 4, accumulate: true);
        AssertBitwiseEqual(c, before, "k = 0, accumulate: C unchanged");
        Gemm.Multiply(ReadOnlySpan<float>.Empty, 2, 0, empty, c, 4, accumulate: false);
        AssertBitwiseEqual(c, new float[8], "k = 0, overwrite: C = 0");

        var narrow = new PackedMatrix(3, 0);
        Gemm.Multiply(Uniform(6, 3), 2, 3, narrow, ReadOnlySpan<float>.Empty.ToArray(), 0, accumulate: false);
    }

    [Test]
    public void BadArgumentsAreRefused()
    {
        var b = new PackedMatrix(Uniform(3 * 4, 1), 3, 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(new float[6], 2, 3, b, new float[8], 3, false), "ldc < N");
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[5], 2, 3, b, new float[8], 4, false), "A too short");
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[6], 2, 3, b, new float[7], 4, false), "C too short");
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(new float[6], -1, 3, b, new float[8], 4, false), "negative M");
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(new float[6], 2, 0, b, new float[8], 4, false), "lda = 0");
        Assert.Throws<ArgumentNullException>(() => Gemm.Multiply(new float[6], 2, 3, null!, new float[8], 4, false), "null B");
    }
}
