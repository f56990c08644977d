using Elmo.Kernels;
using Elmo.Kernels.Gemm;
using static Elmo.Tests.Kernels.KernelData;

namespace Elmo.Tests.Kernels;

/// <summary>The panel layout of <see cref="PackedMatrix"/> on every path: every element where it belongs, padding zero.</summary>
public class PackedMatrixTests
{
    [Test]
    public void EveryElementRoundTrips([ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        foreach (var (k, n) in new[] { (1, 1), (3, 15), (5, 16), (2, 17), (7, 31), (4, 32), (6, 33), (9, 100), (1, 257) })
        {
            var source = Uniform(k * n, k * 1000 + n);
            var packed = Pack(source, k, n, path);
            Assert.Multiple(() =>
            {
                Assert.That(packed.Rows, Is.EqualTo(k));
                Assert.That(packed.Columns, Is.EqualTo(n));
                Assert.That(packed.Path, Is.EqualTo(path));
                Assert.That(packed.PanelWidth, Is.EqualTo(2 * KernelPaths.Width(path)));
                Assert.That(packed.PanelCount, Is.EqualTo((n + packed.PanelWidth - 1) / packed.PanelWidth));
                Assert.That(packed.SizeInBytes, Is.EqualTo(4L * packed.PanelCount * packed.PanelWidth * k));
            });
            for (int r = 0; r < k; r++)
            {
                for (int j = 0; j < n; j++)
                {
                    if (packed[r, j] != source[r * n + j]) Assert.Fail($"{path} {k}×{n}: element ({r},{j}) = {packed[r, j]}, expected {source[r * n + j]}");
                }
            }

            // The padding of the last panel is zero, so the micro-kernel can run full width over it.
            int pad = packed.PanelCount * packed.PanelWidth - n;
            var panels = packed.Panels;
            int last = packed.PanelCount - 1;
            for (int r = 0; r < k; r++)
            {
                for (int j = packed.PanelWidth - pad; j < packed.PanelWidth; j++)
                {
                    Assert.That(panels[((long)last * k + r) * packed.PanelWidth + j], Is.Zero, $"{path} {k}×{n}: padding ({r},{j}) of the last panel");
                }
            }
        }
    }

    [Test]
    public void RowByRowFillEqualsWholeMatrix()
    {
        const int k = 11, n = 45;
        var source = Uniform(k * n, 3);
        var whole = new PackedMatrix(source, k, n);
        var rows = new PackedMatrix(k, n);
        for (int r = 0; r < k; r++) rows.SetRow(r, source.AsSpan(r * n, n));
        AssertBitwiseEqual(rows.Panels, whole.Panels, "SetRow fill vs constructor");
        Assert.That(whole.Path, Is.EqualTo(KernelPaths.Best), "default path");
    }

    [Test]
    public void BlocksAndColumnRangesEqualRowByRow([ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        // Two matrices side by side, written in uneven blocks of rows, as the weight loader does.
        const int k = 23, left = 21, right = 30;
        var a = Uniform(k * left, 1);
        var b = Uniform(k * right, 2);
        var blocks = Pack(new float[k * (left + right)], k, left + right, path);
        foreach (var (start, count) in new[] { (0, 5), (5, 1), (6, 17) })
        {
            blocks.SetRows(start, a.AsSpan(start * left, count * left), left, 0);
            blocks.SetRows(start, b.AsSpan(start * right, count * right), right, left);
        }
        var whole = new float[k * (left + right)];
        for (int r = 0; r < k; r++)
        {
            a.AsSpan(r * left, left).CopyTo(whole.AsSpan(r * (left + right)));
            b.AsSpan(r * right, right).CopyTo(whole.AsSpan(r * (left + right) + left));
        }
        AssertBitwiseEqual(blocks.Panels, Pack(whole, k, left + right, path).Panels, path.ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() => blocks.SetRows(20, a.AsSpan(0, 4 * left), left, 0), "rows past the end");
        Assert.Throws<ArgumentOutOfRangeException>(() => blocks.SetRows(0, b.AsSpan(0, right), right, left + 1), "columns past the end");
        Assert.Throws<ArgumentException>(() => blocks.SetRows(0, a.AsSpan(0, left + 1), left, 0), "partial row");
    }

    [Test]
    public void BadArgumentsAreRefused()
    {
        var packed = new PackedMatrix(3, 4);
        Assert.Throws<ArgumentException>(() => packed.SetRow(0, new float[5]), "row length");
        Assert.Throws<ArgumentOutOfRangeException>(() => packed.SetRow(3, new float[4]), "row index");
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = packed[0, 4], "column index");
        Assert.Throws<ArgumentException>(() => _ = new PackedMatrix(new float[11], 3, 4), "short source");
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new PackedMatrix(-1, 4), "negative rows");
    }

    [Test]
    public void PathsThisMachineLacksAreRefused()
    {
        var missing = AllPaths.Where(p => !KernelPaths.Supported.Contains(p)).ToArray();
        if (missing.Length == 0) Assert.Ignore("This machine accelerates every path; there is no unsupported one to refuse.");
        foreach (var path in missing)
        {
            Assert.Throws<PlatformNotSupportedException>(() => _ = new PackedMatrix(2, 2, path), path.ToString());
        }
    }

    [Test]
    [Category(KernelCheck)]
    public void BestPathIsTheWidestAccelerated()
    {
        Assert.That(KernelPaths.Supported, Does.Contain(KernelPath.Scalar));
        Assert.That(KernelPaths.Supported[^1], Is.EqualTo(KernelPaths.Best));
        Assert.That(KernelPaths.Supported, Is.Ordered);
    }
}
