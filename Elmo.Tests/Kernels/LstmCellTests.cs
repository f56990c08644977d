using Elmo.Kernels.Recurrent;
using static Elmo.Tests.Kernels.KernelData;

namespace Elmo.Tests.Kernels;

/// <summary><see cref="LstmCell.Step"/> against the double-precision reference for every cell width 1…256, with and without clipping.</summary>
[Category(KernelCheck)]
public class LstmCellTests
{
    [TestCase(0f)]
    [TestCase(3f)]
    [TestCase(float.PositiveInfinity)]
    public void StepMatchesReference(float clip)
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
                LstmCell.Step(gates, cell, hidden, clip);
                AssertClose(cell, expectedCell, 2e-7, 1e-6, $"cell, C={c} clip={clip} scale={scale}");
                AssertClose(hidden, expectedHidden, 2e-7, 1e-6, $"hidden, C={c} clip={clip} scale={scale}");
                if (clip is > 0 and < float.PositiveInfinity)
                {
                    Assert.That(cell.All(v => Math.Abs(v) <= clip), $"C={c}: cell exceeds the clip");
                }
            }
        }
    }

    [Test]
    public void StepRefusesMismatchedLengths()
    {
        Assert.Throws<ArgumentException>(() => LstmCell.Step(new float[15], new float[4], new float[4], 0f));
        Assert.Throws<ArgumentException>(() => LstmCell.Step(new float[16], new float[4], new float[3], 0f));
    }
}
