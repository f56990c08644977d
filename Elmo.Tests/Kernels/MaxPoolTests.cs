using Elmo.Kernels;
using Elmo.Kernels.Convolution;
using static Elmo.Tests.Kernels.KernelData;

namespace Elmo.Tests.Kernels;

/// <summary><see cref="MaxPool.Apply"/> against its scalar reference: every filter count 1…256, positions, strides, relu and tanh.</summary>
[Category(KernelCheck)]
public class MaxPoolTests
{
    [Test]
    public void EveryWidthMatchesReference([Values(false, true)] bool tanh, [ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        for (int width = 1; width <= 256; width++)
        {
            Check(tokens: 3, tokenStride: 5, positions: 1 + width % 5, width, ldd: width + width % 3, tanh, path, seed: width);
        }
    }

    [Test]
    public void PositionsAndTokens([Values(false, true)] bool tanh, [ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        foreach (var (tokens, stride, positions) in new[] { (1, 1, 1), (2, 50, 50), (7, 50, 44), (33, 8, 3), (4, 12, 12) })
        {
            Check(tokens, stride, positions, width: 37, ldd: 40, tanh, path, seed: tokens * 100 + positions);
        }
    }

    [Test]
    public void BadArgumentsAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MaxPool.Apply(new float[8], 1, 2, 0, 4, new float[4], false, new float[4], 4));
        Assert.Throws<ArgumentException>(() => MaxPool.Apply(new float[8], 1, 2, 2, 4, new float[3], false, new float[4], 4));
    }

    private static void Check(int tokens, int tokenStride, int positions, int width, int ldd, bool tanh, KernelPath path, int seed)
    {
        var convolved = Uniform(((tokens - 1) * tokenStride + positions) * width, seed, -3f, 3f);
        var bias = Uniform(width, seed + 1, -1f, 1f);
        var actual = Uniform((tokens - 1) * ldd + width, seed + 2);
        var expected = (float[])actual.Clone();
        MaxPool.ApplyReference(convolved, tokens, tokenStride, positions, width, bias, tanh, expected, ldd);
        MaxPool.Apply(convolved, tokens, tokenStride, positions, width, bias, tanh, actual, ldd, path);
        string context = $"{path} maxpool tokens={tokens} stride={tokenStride} positions={positions} width={width} ldd={ldd} tanh={tanh}";
        if (tanh)
        {
            AssertClose(actual, expected, 2e-7, 1e-6, context);
        }
        else
        {
            AssertBitwiseEqual(actual, expected, context); // max, one float add and relu are exact
        }
    }
}
