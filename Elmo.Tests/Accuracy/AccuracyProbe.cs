using Elmo.Kernels.Simd;

namespace Elmo.Tests.Accuracy;

/// <summary>Measurements behind docs/accuracy.md, printed rather than asserted; run on demand.</summary>
[Explicit("a measurement for docs/accuracy.md, not a check")]
[Category("AccuracyProbe")]
public class AccuracyProbe
{
    [Test]
    public void FunctionUlps()
    {
        foreach (var (name, lo, hi) in new[] { ("exp", -87f, 88f), ("sigmoid", -40f, 40f), ("tanh", -12f, 12f) })
        {
            var (max, mean, at) = Ulps(name, lo, hi);
            TestContext.Out.WriteLine($"{name} on [{lo}, {hi}]: max {max:F3} ulp at {at:R}, mean {mean:F4} ulp");
        }
    }

    /// <summary>Error in ulps of the float result (ulp of the exact value) over every 64th float of the range.</summary>
    internal static (double Max, double Mean, float At) Ulps(string name, float lo, float hi)
    {
        double max = 0, sum = 0; long count = 0; float at = 0;
        foreach (float x in Sweep(lo, hi, 64))
        {
            float got = name switch
            {
                "exp" => VectorMath.Exp<ScalarOps, float>(x),
                "sigmoid" => VectorMath.Sigmoid<ScalarOps, float>(x),
                _ => VectorMath.Tanh<ScalarOps, float>(x),
            };
            double exact = name switch
            {
                "exp" => Math.Exp(x),
                "sigmoid" => 1 / (1 + Math.Exp(-(double)x)),
                _ => Math.Tanh(x),
            };
            double ulp = UlpOf(exact);
            if (ulp == 0) continue;
            double e = Math.Abs(got - exact) / ulp;
            sum += e; count++;
            if (e > max) { max = e; at = x; }
        }
        return (max, sum / count, at);
    }

    /// <summary>The spacing of floats at <paramref name="exact"/>'s binade (normal range).</summary>
    internal static double UlpOf(double exact) => exact == 0 ? 0 : Math.ScaleB(1.0, Math.Max(Math.ILogB(exact), -126) - 23);

    /// <summary>Every <paramref name="step"/>-th float of [lo, hi] in bit order, leaving out |x| &lt; 1e-30.</summary>
    internal static IEnumerable<float> Sweep(float lo, float hi, int step)
    {
        int tiny = BitConverter.SingleToInt32Bits(1e-30f);
        if (lo < 0)
        {
            for (int m = BitConverter.SingleToInt32Bits(-lo); m >= tiny; m -= step) yield return -BitConverter.Int32BitsToSingle(m);
        }
        if (hi > 0)
        {
            for (int m = tiny; m <= BitConverter.SingleToInt32Bits(hi); m += step) yield return BitConverter.Int32BitsToSingle(m);
        }
    }
}
