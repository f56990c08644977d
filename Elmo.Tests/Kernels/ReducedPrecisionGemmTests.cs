using Elmo.Kernels;
using Elmo.Kernels.Gemm;
using static Elmo.Tests.Kernels.KernelData;

namespace Elmo.Tests.Kernels;

/// <summary>
/// bfloat16 and int8 matrices (<see cref="PackedMatrix.ToPrecision"/>): the product is exactly, to the bit, the float32
/// product of the dequantised values on every path (emulated ones included), for every tail of M, N and K, any threads;
/// the stored values are within their format's rounding of the originals; the bytes are a half and about a quarter.
/// </summary>
public class ReducedPrecisionGemmTests
{
    public static WeightPrecision[] Reduced { get; } = [WeightPrecision.Bf16, WeightPrecision.Int8];

    /// <summary>The float32 matrix holding what <paramref name="reduced"/> holds (its dequantised values), on the same path.</summary>
    private static PackedMatrix Dequantised(PackedMatrix reduced, KernelPath path)
    {
        var values = new float[reduced.Rows * reduced.Columns];
        for (int k = 0; k < reduced.Rows; k++)
        {
            for (int j = 0; j < reduced.Columns; j++) values[k * reduced.Columns + j] = reduced[k, j];
        }
        return Pack(values, reduced.Rows, reduced.Columns, path);
    }

    private static float[] Multiply(float[] a, int m, int lda, PackedMatrix b, float[] c0, int ldc, bool accumulate, int threads = 1)
    {
        var c = (float[])c0.Clone();
        Gemm.Multiply(a, m, lda, b, c, ldc, accumulate, threads);
        return c;
    }

    [Test]
    [Category(KernelCheck)]
    public void ProductsAreThoseOfTheDequantisedValuesOnEveryPath(
        [ValueSource(nameof(Reduced))] WeightPrecision precision, [ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        foreach (var (m, k, n) in new[] { (1, 1, 1), (1, 700, 200), (2, 300, 70), (3, 513, 45), (4, 64, 100), (5, 300, 33), (6, 257, 64), (7, 300, 45), (13, 100, 130), (150, 80, 40) })
        {
            var a = Uniform(m * k, m + k);
            var b = Uniform(k * n, n + 3);
            var c0 = Uniform(m * n, 7);
            var reduced = Pack(b, k, n, path).ToPrecision(precision);
            Assert.That(reduced.Precision, Is.EqualTo(precision));
            var exact = Dequantised(reduced, path);
            foreach (bool accumulate in new[] { false, true })
            {
                var expected = Multiply(a, m, k, exact, c0, n, accumulate);
                AssertBitwiseEqual(Multiply(a, m, k, reduced, c0, n, accumulate), expected, $"{precision} {path} m={m} k={k} n={n} accumulate={accumulate}");
                var scalar = Multiply(a, m, k, Pack(b, k, n, KernelPath.Scalar).ToPrecision(precision), c0, n, accumulate);
                AssertBitwiseEqual(scalar, expected, $"{precision} Scalar vs {path}, m={m} k={k} n={n}");
            }
            AssertBitwiseEqual(Multiply(a, m, k, reduced, c0, n, true, threads: 2), Multiply(a, m, k, exact, c0, n, true), $"{precision} {path} two threads, m={m} k={k} n={n}");
        }
    }

    [Test]
    public void StoredValuesAreWithinTheirFormatsRounding([ValueSource(nameof(Reduced))] WeightPrecision precision)
    {
        int k = 300, n = 70;
        var b = Uniform(k * n, 11, -3f, 3f);
        b[5] = 0f; // a zero stays zero
        for (int kk = 0; kk < k; kk++) b[kk * n + 9] = 0f; // so does a zero column (its scale is 0)
        var reduced = new PackedMatrix(b, k, n).ToPrecision(precision);
        var largest = new float[n];
        for (int i = 0; i < b.Length; i++) largest[i % n] = Math.Max(largest[i % n], Math.Abs(b[i]));
        for (int kk = 0; kk < k; kk++)
        {
            for (int j = 0; j < n; j++)
            {
                float v = b[kk * n + j], stored = reduced[kk, j];
                double bound = precision == WeightPrecision.Bf16 ? Math.Abs(v) * Math.Pow(2, -8) : largest[j] / 127.0 / 2 * (1 + 1e-6);
                Assert.That(Math.Abs(stored - v), Is.LessThanOrEqualTo(bound), $"{precision} [{kk},{j}] = {v:R} stored as {stored:R}");
            }
        }
        Assert.That(reduced[0, 5], Is.EqualTo(0f));
        Assert.That(reduced[3, 9], Is.EqualTo(0f));
    }

    [Test]
    public void ReducedMatricesTakeAHalfOrAQuarterOfTheBytesAndAreReadOnly()
    {
        var fp32 = new PackedMatrix(Uniform(512 * 1024, 1), 512, 1024);
        var bf16 = fp32.ToPrecision(WeightPrecision.Bf16);
        var int8 = fp32.ToPrecision(WeightPrecision.Int8);
        Assert.That(bf16.SizeInBytes, Is.EqualTo(fp32.SizeInBytes / 2));
        Assert.That((double)int8.SizeInBytes / fp32.SizeInBytes, Is.InRange(0.25, 0.252), "a quarter, plus one float scale per column");
        Assert.That(fp32.ToPrecision(WeightPrecision.Fp32), Is.SameAs(fp32));
        Assert.Throws<InvalidOperationException>(() => bf16.SetRow(0, new float[1024]));
        Assert.Throws<InvalidOperationException>(() => int8.ToPrecision(WeightPrecision.Bf16));
        Assert.That(PackedMatrix.ToBf16(1f), Is.EqualTo((ushort)0x3F80));
        Assert.That(PackedMatrix.ToBf16(BitConverter.UInt32BitsToSingle(0x3F808000)), Is.EqualTo((ushort)0x3F80), "a tie rounds to even");
        Assert.That(PackedMatrix.ToBf16(BitConverter.UInt32BitsToSingle(0x3F818000)), Is.EqualTo((ushort)0x3F82), "a tie rounds to even, upwards");
    }
}
