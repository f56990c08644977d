using Elmo.Kernels;
using Elmo.Kernels.Calibration;
using Elmo.Kernels.Gemm;
using static Elmo.Tests.Kernels.KernelData;

namespace Elmo.Tests.Kernels;

/// <summary>
/// The GEMM's cache blocking (<see cref="GemmBlocking"/>, from <see cref="CacheSizes"/>): the rules that derive it, and
/// that any blocking (small blocks that split a small product into many row, column and K blocks, on every path) gives
/// the same bits as this machine's, as the scalar path and within the reference bound: the blocks never change the
/// accumulation order.
/// </summary>
public class GemmBlockingTests
{
    private static readonly CacheSizes Zen5 = new(48 << 10, 1 << 20, 32 << 20, "test");
    private static readonly CacheSizes Small = new(32 << 10, 512 << 10, 0, "test");

    [Test]
    public void KBlockFitsThePanelBlockAndOneATileInL1()
    {
        // KC ≤ L1d / (4 · (panel width + tile rows)), in whole accumulation blocks.
        Assert.That(GemmBlocking.For(32, Zen5).KBlock, Is.EqualTo(256)); // 48 KiB / 176 B = 279
        Assert.That(GemmBlocking.For(16, Zen5).KBlock, Is.EqualTo(512)); // 48 KiB / 88 B = 558
        Assert.That(GemmBlocking.For(32, Small).KBlock, Is.EqualTo(128));
        Assert.That(GemmBlocking.For(16, Small).KBlock, Is.EqualTo(256));
        foreach (var caches in new[] { Zen5, Small, CacheSizes.Fallback, CacheSizes.Current, new CacheSizes(8 << 10, 64 << 10, 0, "tiny") })
        {
            foreach (int width in new[] { 2, 8, 16, 32 })
            {
                var b = GemmBlocking.For(width, caches);
                Assert.That(b.KBlock % Gemm.SumBlock, Is.Zero, $"{b}");
                Assert.That(b.KBlock, Is.InRange(Gemm.SumBlock, 8 * Gemm.SumBlock), $"{b}");
                Assert.That(b.MBlock % 12, Is.Zero, $"{b}");
                Assert.That(b.MBlock, Is.GreaterThanOrEqualTo(24), $"{b}");
                Assert.That(b.NBlock, Is.GreaterThanOrEqualTo(4), $"{b}");
                Assert.That(b.ColumnBlock(64) % 4, Is.Zero, $"{b}");
                Assert.That(b.ColumnBlock(64), Is.InRange(4, b.NBlock), $"{b}");
            }
        }
    }

    [Test]
    public void ColumnBlockKeepsTheCBlockInHalfOfL2()
    {
        var b = GemmBlocking.For(32, Zen5);
        // 64 rows × 32 columns × 4 bytes = 8 KiB per panel; 512 KiB / 8 KiB = 64 panels (2048 columns).
        Assert.That(b.ColumnBlock(64), Is.EqualTo(64));
        Assert.That(b.ColumnBlock(1 << 20), Is.EqualTo(4), "never fewer than four panels");
        Assert.That(GemmBlocking.For(32, Small).NBlock, Is.EqualTo(int.MaxValue), "without an L3, NC is bounded by C alone");
    }

    [Test]
    public void CacheSizesAreReadOrFallBack()
    {
        var current = CacheSizes.Current;
        Assert.That(current.Source, Is.AnyOf("sysfs", "cpuid", "fallback"));
        Assert.That(current.L1Data, Is.InRange(8L << 10, 1L << 20));
        Assert.That(current.L2, Is.InRange(64L << 10, 64L << 20));
        Assert.That(current.ToString(), Does.Contain("L1d"));
        Assert.That(CacheSizes.ParseSize("48K"), Is.EqualTo(48 << 10));
        Assert.That(CacheSizes.ParseSize("32M"), Is.EqualTo(32 << 20));
        Assert.That(CacheSizes.ParseSize("1024"), Is.EqualTo(1024));
        Assert.That(Gemm.Blocking.PanelWidth, Is.EqualTo(2 * KernelPaths.Width(KernelPaths.Best)));
    }

    [Test]
    public void SmallBlocksGiveTheSameBitsOnEveryPath([ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        // Row counts with twelve-row tiles, a six-row tile and every tail; several row blocks (MC 24), column blocks
        // (NC 4 panels) and K blocks (KC 128 and 256), the zero-padded last panel, both accumulate modes.
        foreach (var (m, k, n) in new[] { (64, 300, 9 * 32 + 5), (41, 129, 200), (23, 520, 130), (12, 257, 160), (5, 200, 300), (1, 130, 300) })
        {
            var a = Uniform(m * k, m + k);
            var bValues = Uniform(k * n, n);
            var c0 = Uniform(m * n, 7);
            var b = Pack(bValues, k, n, path);
            var scalar = Pack(bValues, k, n, KernelPath.Scalar);
            foreach (bool accumulate in new[] { false, true })
            {
                var expected = Run(a, m, k, scalar, c0, n, accumulate, blocking: null);
                AssertGemmClose(a, m, k, k, bValues, n, c0, expected, n, accumulate, $"scalar m={m} k={k} n={n}");
                foreach (var blocking in new[] { null, new GemmBlocking(b.PanelWidth, 128, 24, 4, CacheSizes.Fallback), new GemmBlocking(b.PanelWidth, 256, 12, 8, CacheSizes.Fallback) })
                {
                    foreach (int threads in new[] { 1, 2 })
                    {
                        AssertBitwiseEqual(Run(a, m, k, b, c0, n, accumulate, blocking, threads), expected,
                            $"{path} m={m} k={k} n={n} accumulate={accumulate} threads={threads} blocking={blocking?.ToString() ?? "machine"}");
                    }
                }
            }
        }
    }

    [Test]
    public void BlockingMustKeepTheAccumulationBlocks()
    {
        var b = new PackedMatrix(Uniform(10 * 40, 1), 10, 40);
        var a = Uniform(6 * 10, 2);
        var c = new float[6 * 40];
        Assert.Throws<ArgumentException>(() => Gemm.MultiplyBlocked(a, 6, 10, b, c, 40, false, 1, new GemmBlocking(b.PanelWidth, 100, 24, 4, CacheSizes.Fallback)));
        Assert.Throws<ArgumentException>(() => Gemm.MultiplyBlocked(a, 6, 10, b, c, 40, false, 1, new GemmBlocking(b.PanelWidth + 1, 128, 24, 4, CacheSizes.Fallback)));
    }

    private static float[] Run(float[] a, int m, int k, PackedMatrix b, float[] c0, int n, bool accumulate, GemmBlocking? blocking, int threads = 1)
    {
        var c = (float[])c0.Clone();
        Gemm.MultiplyBlocked(a, m, k, b, c, n, accumulate, threads, blocking);
        return c;
    }
}
