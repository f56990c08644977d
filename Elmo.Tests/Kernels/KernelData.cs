using Elmo.Kernels;
using Elmo.Kernels.Gemm;

namespace Elmo.Tests.Kernels;

/// <summary>Seeded test data, the kernel paths to iterate, and tolerance checks shared by the kernel tests.</summary>
internal static class KernelData
{
    /// <summary>Category of the quick kernel-against-reference tests that <see cref="ForcedKernelPathTests"/> re-runs with narrower hardware.</summary>
    public const string KernelCheck = "KernelCheck";

    /// <summary>Every path the kernels have, narrowest first.</summary>
    public static KernelPath[] AllPaths { get; } = [KernelPath.Scalar, KernelPath.Vector128, KernelPath.Vector256, KernelPath.Vector512];

    /// <summary>Uniform values in [<paramref name="lo"/>, <paramref name="hi"/>), the same for the same seed on every machine.</summary>
    public static float[] Uniform(int length, int seed, float lo = -1f, float hi = 1f)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++) values[i] = lo + (hi - lo) * (float)random.NextDouble();
        return values;
    }

    /// <summary>
    /// Packs <paramref name="b"/> for <paramref name="path"/>: natively where the machine accelerates the path, else on
    /// the runtime's software-emulated vectors, which runs the same generic kernel code with the same tiling.
    /// </summary>
    public static PackedMatrix Pack(float[] b, int k, int n, KernelPath path) =>
        KernelPaths.Supported.Contains(path) ? new PackedMatrix(b, k, n, path) : PackedMatrix.Emulated(b, k, n, path);

    /// <summary>
    /// Checks a GEMM result against the double-precision reference with the classical error bound of a length-(k+1)
    /// floating-point dot product: |c − exact| ≤ γ·Σ|a||b| (+|c0| when accumulating), γ = (k + 2)u / (1 − (k + 2)u),
    /// u = 2⁻²⁴, plus one rounding of the reference itself. Bounds any correct summation order; a missing, doubled or
    /// misplaced term is orders of magnitude larger.
    /// </summary>
    public static void AssertGemmClose(
        float[] a, int m, int k, int lda, float[] b, int n, float[] c0, float[] actual, int ldc, bool accumulate, string context)
    {
        var expected = (float[])c0.Clone();
        GemmReference.Multiply(a, m, k, lda, b, n, expected, ldc, accumulate);
        var magnitude = c0.Select(Math.Abs).ToArray();
        GemmReference.Multiply(a.Select(Math.Abs).ToArray(), m, k, lda, b.Select(Math.Abs).ToArray(), n, magnitude, ldc, accumulate);
        double u = Math.Pow(2, -24), gamma = (k + 2) * u / (1 - (k + 2) * u);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                int at = i * ldc + j;
                double bound = gamma * magnitude[at] + u * Math.Abs(expected[at]) + 1e-35;
                double error = Math.Abs((double)actual[at] - expected[at]);
                if (!(error <= bound))
                {
                    Assert.Fail($"{context}: C[{i},{j}] = {actual[at]:R}, reference {expected[at]:R}, error {error:E3} > bound {bound:E3}");
                }
            }
        }
    }

    /// <summary>Checks |actual − expected| ≤ atol + rtol·|expected| element by element.</summary>
    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double atol, double rtol, string context)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), context + ": length");
        for (int i = 0; i < actual.Length; i++)
        {
            double error = Math.Abs((double)actual[i] - expected[i]);
            if (!(error <= atol + rtol * Math.Abs(expected[i])))
            {
                Assert.Fail($"{context}: element {i} = {actual[i]:R}, reference {expected[i]:R}, error {error:E3} > {atol:E1} + {rtol:E1}·|ref|");
            }
        }
    }

    /// <summary>Checks two float sequences for bitwise equality.</summary>
    public static void AssertBitwiseEqual(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, string context)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), context + ": length");
        for (int i = 0; i < actual.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(actual[i]) != BitConverter.SingleToInt32Bits(expected[i]))
            {
                Assert.Fail($"{context}: element {i} = {actual[i]:R}, expected bitwise {expected[i]:R}");
            }
        }
    }
}
