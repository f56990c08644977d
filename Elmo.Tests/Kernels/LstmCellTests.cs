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
    public void BiasIsAddedBeforeTheGatesOnEveryPathBitwise([ValueSource(typeof(KernelData), nameof(AllPaths))] KernelPath path)
    {
        // Step(gates, bias, ...) is Step(gates + bias, ...) with the sum rounded to float32 once per gate, on every path.
        foreach (int c in new[] { 1, 7, 16, 33, 300 })
        {
            var gates = Uniform(4 * c, c, -6f, 6f);
            var bias = Uniform(4 * c, 100 + c, -1.5f, 1.5f);
            var initial = Uniform(c, 200 + c, -5f, 5f);
            var summed = gates.Zip(bias, (g, b) => g + b).ToArray();
            float[] expectedCell = (float[])initial.Clone(), expectedHidden = new float[c];
            LstmCell.Step(summed, expectedCell, expectedHidden, 3f, KernelPath.Scalar);
            float[] cell = (float[])initial.Clone(), hidden = new float[c];
            LstmCell.Step(gates, bias, cell, hidden, 3f, path);
            AssertBitwiseEqual(cell, expectedCell, $"{path} cell, C={c}");
            AssertBitwiseEqual(hidden, expectedHidden, $"{path} hidden, C={c}");

            float[] refCell = (float[])initial.Clone(), refHidden = new float[c];
            LstmCell.StepReference(gates, bias, refCell, refHidden, 3f);
            AssertClose(cell, refCell, 2e-7, 1e-6, $"{path} cell vs reference, C={c}");
            AssertClose(hidden, refHidden, 2e-7, 1e-6, $"{path} hidden vs reference, C={c}");
        }
    }

    [Test]
    public void StepRefusesMismatchedLengths()
    {
        Assert.Throws<ArgumentException>(() => LstmCell.Step(new float[16], new float[15], new float[4], new float[4], 0f), "bias");
        Assert.Throws<ArgumentException>(() => LstmCell.Step(new float[15], new float[4], new float[4], 0f));
        Assert.Throws<ArgumentException>(() => LstmCell.Step(new float[16], new float[4], new float[3], 0f));
    }
}
