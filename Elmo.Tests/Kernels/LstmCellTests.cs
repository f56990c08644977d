using Elmo.Kernels;
using Elmo.Kernels.Recurrent;
using static Elmo.Tests.Kernels.KernelData;

namespace Elmo.Tests.Kernels;

/// <summary><see cref="LstmCell.Step"/> against the double-precision reference for every cell width 1…256, with and without clipping.</summary>
[Category(KernelCheck)]
public class LstmCellTests
{
    [Test]
    public void StepMatchesReference([Values(0f, 3f, float.PositiveInfinity)] float clip, [ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        for (int c = 1; c <= 256; c++)
        {
            foreach (float scale in new[] { 4f, 40f }) // 40 saturates every gate
            {
                var gates = Uniform(4 * c, c, -scale, scale);
                var cell = Uniform(c, 500 + c, -5f, 5f);
                var expectedCell = (float[])cell.Clone();
                var expectedHidden = new float[c];
                LstmCell.StepReference((float[])gates.Clone(), expectedCell, expectedHidden, clip);
                var hidden = new float[c];
                LstmCell.Step(gates, cell, hidden, clip, path);
                AssertClose(cell, expectedCell, 2e-7, 1e-6, $"{path} cell, C={c} clip={clip} scale={scale}");
                AssertClose(hidden, expectedHidden, 2e-7, 1e-6, $"{path} hidden, C={c} clip={clip} scale={scale}");
                if (clip is > 0 and < float.PositiveInfinity)
                {
                    Assert.That(cell.All(v => Math.Abs(v) <= clip), $"C={c}: cell exceeds the clip");
                }
            }
        }
    }

    [Test]
    public void PathsAgreeBitwise()
    {
        // The same operations in the same order on every path, the scalar tail included.
        const int c = 300;
        var gates = Uniform(4 * c, 1, -12f, 12f);
        var initial = Uniform(c, 2, -5f, 5f);
        float[] expectedCell = (float[])initial.Clone(), expectedHidden = new float[c];
        LstmCell.Step(gates, expectedCell, expectedHidden, 3f, KernelPath.Scalar);
        foreach (var path in AllPaths)
        {
            float[] cell = (float[])initial.Clone(), hidden = new float[c];
            LstmCell.Step(gates, cell, hidden, 3f, path);
            AssertBitwiseEqual(cell, expectedCell, $"{path} cell");
            AssertBitwiseEqual(hidden, expectedHidden, $"{path} hidden");
        }
    }

    [Test]
    public void StepRefusesMismatchedLengths()
    {
        Assert.Throws<ArgumentException>(() => LstmCell.Step(new float[15], new float[4], new float[4], 0f));
        Assert.Throws<ArgumentException>(() => LstmCell.Step(new float[16], new float[4], new float[3], 0f));
    }
}
