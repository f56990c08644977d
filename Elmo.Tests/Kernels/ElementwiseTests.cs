using Elmo.Kernels;
using static Elmo.Tests.Kernels.KernelData;

namespace Elmo.Tests.Kernels;

/// <summary>
/// <see cref="Clip"/> and <see cref="Highway"/> against their scalar references for every length 0…256, and on
/// extreme inputs. The highway combine is computed as x + g·(relu(t) − x), the reference as g·t + (1 − g)·x in double
/// precision: they differ by a few float ulps of the inputs (|x| ≤ 2 here), hence 5e-7 absolute.
/// </summary>
[Category(KernelCheck)]
public class ElementwiseTests
{
    [Test]
    public void ClipEqualsReferenceExactly([ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        for (int n = 0; n <= 256; n++)
        {
            var values = Uniform(n, n, -5f, 5f);
            if (n > 3)
            {
                values[0] = float.PositiveInfinity;
                values[1] = float.NegativeInfinity;
                values[2] = 3f;
                values[3] = -3f;
            }
            var expected = (float[])values.Clone();
            Clip.ApplyReference(expected, 3f);
            Clip.Apply(values, 3f, path);
            AssertBitwiseEqual(values, expected, $"{path} clip n={n}");
        }
    }

    [Test]
    public void ClipPassesNaNThrough([ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        var values = Enumerable.Repeat(float.NaN, 37).ToArray();
        values[5] = 7f;
        Clip.Apply(values, 3f, path);
        Assert.That(values.Count(float.IsNaN), Is.EqualTo(36), $"{path}: NaN must not be clipped to a number");
        Assert.That(values[5], Is.EqualTo(3f));
    }

    [Test]
    public void HighwayMatchesReference([ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        for (int f = 1; f <= 256; f++)
        {
            foreach (float scale in new[] { 1f, 30f })
            {
                var x = Uniform(f, f, -2f, 2f);
                var pre = Uniform(2 * f, 1000 + f, -scale, scale);
                var expected = (float[])x.Clone();
                Highway.CombineReference(expected, (float[])pre.Clone());
                Highway.Combine(x, pre, path);
                AssertClose(x, expected, 5e-7, 1e-6, $"{path} highway f={f} scale={scale}");
            }
        }
    }

    [Test]
    public void HighwayPathsAgreeBitwise()
    {
        var x = Uniform(333, 1, -2f, 2f);
        var pre = Uniform(666, 2, -20f, 20f);
        var expected = (float[])x.Clone();
        Highway.Combine(expected, pre, KernelPath.Scalar);
        foreach (var path in AllPaths)
        {
            var actual = (float[])x.Clone();
            Highway.Combine(actual, pre, path);
            AssertBitwiseEqual(actual, expected, path.ToString());
        }
    }

    [Test]
    public void NonFiniteSearchMatchesReference()
    {
        for (int n = 0; n <= 256; n++)
        {
            var values = Uniform(n, n, -1e30f, 1e30f);
            Assert.That(FloatSearch.IndexOfNonFinite(values), Is.EqualTo(-1), $"n={n}: all finite");
            foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            {
                for (int at = Math.Max(0, n - 9); at < n; at++)
                {
                    var copy = (float[])values.Clone();
                    copy[at] = bad;
                    if (at + 1 < n) copy[n - 1] = float.NaN; // a later one must not win
                    Assert.That(FloatSearch.IndexOfNonFinite(copy), Is.EqualTo(FloatSearch.IndexOfNonFiniteReference(copy)).And.EqualTo(at), $"n={n} {bad} at {at}");
                }
            }
        }
        Assert.That(FloatSearch.IndexOfNonFinite([float.MaxValue, -float.MaxValue, float.Epsilon, -0f]), Is.EqualTo(-1));
    }

    [Test]
    public void HighwayRefusesMismatchedLengths()
    {
        Assert.Throws<ArgumentException>(() => Highway.Combine(new float[3], new float[5]));
    }
}
