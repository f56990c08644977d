namespace Elmo.Kernels.Gemm;

/// <summary>The plain scalar reference for <see cref="Gemm"/>: readable loops over an unpacked row-major B.</summary>
public static class GemmReference
{
    /// <summary>Computes <c>C[m×n] (+)= A[m×k]·B[k×n]</c> with double-precision accumulation.</summary>
    /// <param name="a">Row-major A with row stride <paramref name="lda"/>.</param>
    /// <param name="m">Rows of A and C.</param>
    /// <param name="k">Inner dimension.</param>
    /// <param name="lda">Row stride of A.</param>
    /// <param name="b">Row-major B, <paramref name="k"/> × <paramref name="n"/>.</param>
    /// <param name="n">Columns of B and C.</param>
    /// <param name="c">Row-major C with row stride <paramref name="ldc"/>.</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <param name="accumulate">Add to C instead of overwriting it.</param>
    public static void Multiply(ReadOnlySpan<float> a, int m, int k, int lda, ReadOnlySpan<float> b, int n, Span<float> c, int ldc, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = accumulate ? c[i * ldc + j] : 0.0;
                for (int p = 0; p < k; p++)
                {
                    sum += (double)a[i * lda + p] * b[p * n + j];
                }
                c[i * ldc + j] = (float)sum;
            }
        }
    }
}
