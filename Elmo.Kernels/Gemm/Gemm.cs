using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Elmo.Kernels.Simd;

namespace Elmo.Kernels.Gemm;

/// <summary>
/// Single-precision matrix product <c>C = A·B</c> or <c>C += A·B</c> with <c>B</c> packed once
/// (<see cref="PackedMatrix"/>), BLIS style: K is cut into blocks of <see cref="KBlock"/>, rows into
/// blocks of <see cref="MBlock"/>, and an <see cref="MicroRows"/> × (2 vectors) register-blocked
/// micro-kernel does the work.
/// </summary>
/// <remarks>
/// Every element of C is accumulated by one fused multiply-add chain over k = 0…K−1 in order,
/// whatever M, N, the tile it falls in or the number of threads: results are bitwise identical for
/// any batch composition and on every path (the scalar path uses <see cref="MathF.FusedMultiplyAdd"/>).
/// </remarks>
public static class Gemm
{
    /// <summary>Rows per micro-kernel call.</summary>
    public const int MicroRows = 6;

    /// <summary>Depth of one K block: one panel block (KBlock × 32 floats = 32 KiB at AVX-512) stays in L1.</summary>
    public const int KBlock = 256;

    /// <summary>Rows of A per block: an MBlock × KBlock block of A (144 KiB) stays in L2.</summary>
    public const int MBlock = 144;

    /// <summary>
    /// Computes <c>C[m×N] (+)= A[m×K]·B</c>. A and C are row-major with strides <paramref name="lda"/> and
    /// <paramref name="ldc"/>; rows of A may overlap (a stride smaller than K reads a sliding window, which
    /// the character convolution uses).
    /// </summary>
    /// <param name="a">Left operand; row i starts at <c>i * lda</c> and holds K values.</param>
    /// <param name="m">Rows of A and C.</param>
    /// <param name="lda">Row stride of A.</param>
    /// <param name="b">Packed right operand (K × N).</param>
    /// <param name="c">Destination; row i starts at <c>i * ldc</c> and holds N values.</param>
    /// <param name="ldc">Row stride of C (at least N).</param>
    /// <param name="accumulate">Add to C instead of overwriting it (C is never read when false).</param>
    /// <param name="threads">Upper bound on worker threads (columns are split between them).</param>
    public static void Multiply(ReadOnlySpan<float> a, int m, int lda, PackedMatrix b, Span<float> c, int ldc, bool accumulate, int threads = 1)
    {
        ArgumentNullException.ThrowIfNull(b);
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        int k = b.Rows, n = b.Columns;
        if (m == 0 || n == 0)
        {
            return;
        }

        if (ldc < n) throw new ArgumentOutOfRangeException(nameof(ldc), ldc, $"ldc must be at least N = {n}.");
        if (k > 0 && lda <= 0) throw new ArgumentOutOfRangeException(nameof(lda), lda, "lda must be positive.");
        if (k > 0 && a.Length < (long)(m - 1) * lda + k) throw new ArgumentException($"A holds {a.Length} values, needs {(long)(m - 1) * lda + k} for {m} rows of {k} at stride {lda}.", nameof(a));
        if (c.Length < (long)(m - 1) * ldc + n) throw new ArgumentException($"C holds {c.Length} values, needs {(long)(m - 1) * ldc + n}.", nameof(c));

        if (k == 0)
        {
            if (!accumulate)
            {
                for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
            }
            return;
        }

        int panels = b.PanelCount;
        // Split columns between threads only when each gets enough work to pay for the hand-off.
        long flops = 2L * m * n * k;
        int workers = Math.Min(Math.Min(threads, panels), (int)Math.Max(1, flops / 4_000_000));
        if (workers <= 1)
        {
            Run(ref MemoryMarshal.GetReference(a), m, lda, b, ref MemoryMarshal.GetReference(c), ldc, accumulate, 0, panels);
            return;
        }

        unsafe
        {
            fixed (float* pa = a)
            fixed (float* pc = c)
            {
                float* aPtr = pa, cPtr = pc;
                Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
                {
                    int p0 = (int)((long)panels * w / workers), p1 = (int)((long)panels * (w + 1) / workers);
                    Run(ref *aPtr, m, lda, b, ref *cPtr, ldc, accumulate, p0, p1);
                });
            }
        }
    }

    private static void Run(ref float a, int m, int lda, PackedMatrix b, ref float c, int ldc, bool accumulate, int panel0, int panel1)
    {
        switch (b.Path)
        {
            case KernelPath.Vector512:
                Run<Vector512Ops, Vector512<float>>(ref a, m, lda, b, ref c, ldc, accumulate, panel0, panel1);
                break;
            case KernelPath.Vector256:
                Run<Vector256Ops, Vector256<float>>(ref a, m, lda, b, ref c, ldc, accumulate, panel0, panel1);
                break;
            case KernelPath.Vector128:
                Run<Vector128Ops, Vector128<float>>(ref a, m, lda, b, ref c, ldc, accumulate, panel0, panel1);
                break;
            default:
                Run<ScalarOps, float>(ref a, m, lda, b, ref c, ldc, accumulate, panel0, panel1);
                break;
        }
    }

    private static void Run<TOps, TVec>(ref float a, int m, int lda, PackedMatrix b, ref float c, int ldc, bool accumulate, int panel0, int panel1)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int k = b.Rows, n = b.Columns, nr = b.PanelWidth;
        ref float panels = ref MemoryMarshal.GetArrayDataReference(b.Panels);
        Span<float> edge = stackalloc float[MicroRows * 32];

        for (int k0 = 0; k0 < k; k0 += KBlock)
        {
            int kc = Math.Min(KBlock, k - k0);
            bool load = accumulate || k0 > 0;
            for (int i0 = 0; i0 < m; i0 += MBlock)
            {
                int mc = Math.Min(MBlock, m - i0);
                for (int p = panel0; p < panel1; p++)
                {
                    int j0 = p * nr;
                    int nc = Math.Min(nr, n - j0);
                    ref float bp = ref Unsafe.Add(ref panels, ((nint)p * k + k0) * nr);
                    for (int i = i0; i < i0 + mc; i += MicroRows)
                    {
                        int mr = Math.Min(MicroRows, i0 + mc - i);
                        ref float ai = ref Unsafe.Add(ref a, (nint)i * lda + k0);
                        ref float ci = ref Unsafe.Add(ref c, (nint)i * ldc + j0);
                        if (nc == nr)
                        {
                            Tile<TOps, TVec>(ref ai, lda, ref bp, kc, ref ci, ldc, mr, load);
                        }
                        else
                        {
                            // Zero-padded last panel: work in a full-width scratch tile, copy the valid columns.
                            ref float e = ref MemoryMarshal.GetReference(edge);
                            for (int r = 0; r < mr; r++)
                            {
                                for (int j = 0; j < nr; j++)
                                {
                                    Unsafe.Add(ref e, r * nr + j) = load && j < nc ? Unsafe.Add(ref ci, (nint)r * ldc + j) : 0f;
                                }
                            }
                            Tile<TOps, TVec>(ref ai, lda, ref bp, kc, ref e, nr, mr, load);
                            for (int r = 0; r < mr; r++)
                            {
                                for (int j = 0; j < nc; j++)
                                {
                                    Unsafe.Add(ref ci, (nint)r * ldc + j) = Unsafe.Add(ref e, r * nr + j);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile<TOps, TVec>(ref float a, int lda, ref float b, int kc, ref float c, int ldc, int rows, bool load)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        if (rows == MicroRows)
        {
            Kernel6<TOps, TVec>(ref a, lda, ref b, kc, ref c, ldc, load);
        }
        else
        {
            for (int r = 0; r < rows; r++)
            {
                Kernel1<TOps, TVec>(ref Unsafe.Add(ref a, (nint)r * lda), ref b, kc, ref Unsafe.Add(ref c, (nint)r * ldc), load);
            }
        }
    }

    // 6 × 2 vectors: 12 accumulators + 2 B vectors + 1 broadcast = 15 registers (of 16 on AVX2, 32 on AVX-512).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6<TOps, TVec>(ref float a, int lda, ref float b, int kc, ref float c, int ldc, bool load)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int w = TOps.Width, nr = 2 * w;
        nint s = lda;
        ref float c0 = ref c;
        ref float c1 = ref Unsafe.Add(ref c, ldc);
        ref float c2 = ref Unsafe.Add(ref c, 2 * (nint)ldc);
        ref float c3 = ref Unsafe.Add(ref c, 3 * (nint)ldc);
        ref float c4 = ref Unsafe.Add(ref c, 4 * (nint)ldc);
        ref float c5 = ref Unsafe.Add(ref c, 5 * (nint)ldc);
        TVec x00, x01, x10, x11, x20, x21, x30, x31, x40, x41, x50, x51;
        if (load)
        {
            x00 = TOps.Load(ref c0); x01 = TOps.Load(ref Unsafe.Add(ref c0, w));
            x10 = TOps.Load(ref c1); x11 = TOps.Load(ref Unsafe.Add(ref c1, w));
            x20 = TOps.Load(ref c2); x21 = TOps.Load(ref Unsafe.Add(ref c2, w));
            x30 = TOps.Load(ref c3); x31 = TOps.Load(ref Unsafe.Add(ref c3, w));
            x40 = TOps.Load(ref c4); x41 = TOps.Load(ref Unsafe.Add(ref c4, w));
            x50 = TOps.Load(ref c5); x51 = TOps.Load(ref Unsafe.Add(ref c5, w));
        }
        else
        {
            x00 = x01 = x10 = x11 = x20 = x21 = x30 = x31 = x40 = x41 = x50 = x51 = TOps.Zero;
        }

        ref float ak = ref a;
        ref float bk = ref b;
        for (int k = 0; k < kc; k++)
        {
            TVec b0 = TOps.Load(ref bk), b1 = TOps.Load(ref Unsafe.Add(ref bk, w));
            TVec av = TOps.Broadcast(ak);
            x00 = TOps.MultiplyAdd(av, b0, x00); x01 = TOps.MultiplyAdd(av, b1, x01);
            av = TOps.Broadcast(Unsafe.Add(ref ak, s));
            x10 = TOps.MultiplyAdd(av, b0, x10); x11 = TOps.MultiplyAdd(av, b1, x11);
            av = TOps.Broadcast(Unsafe.Add(ref ak, 2 * s));
            x20 = TOps.MultiplyAdd(av, b0, x20); x21 = TOps.MultiplyAdd(av, b1, x21);
            av = TOps.Broadcast(Unsafe.Add(ref ak, 3 * s));
            x30 = TOps.MultiplyAdd(av, b0, x30); x31 = TOps.MultiplyAdd(av, b1, x31);
            av = TOps.Broadcast(Unsafe.Add(ref ak, 4 * s));
            x40 = TOps.MultiplyAdd(av, b0, x40); x41 = TOps.MultiplyAdd(av, b1, x41);
            av = TOps.Broadcast(Unsafe.Add(ref ak, 5 * s));
            x50 = TOps.MultiplyAdd(av, b0, x50); x51 = TOps.MultiplyAdd(av, b1, x51);
            ak = ref Unsafe.Add(ref ak, 1);
            bk = ref Unsafe.Add(ref bk, nr);
        }

        TOps.Store(x00, ref c0); TOps.Store(x01, ref Unsafe.Add(ref c0, w));
        TOps.Store(x10, ref c1); TOps.Store(x11, ref Unsafe.Add(ref c1, w));
        TOps.Store(x20, ref c2); TOps.Store(x21, ref Unsafe.Add(ref c2, w));
        TOps.Store(x30, ref c3); TOps.Store(x31, ref Unsafe.Add(ref c3, w));
        TOps.Store(x40, ref c4); TOps.Store(x41, ref Unsafe.Add(ref c4, w));
        TOps.Store(x50, ref c5); TOps.Store(x51, ref Unsafe.Add(ref c5, w));
    }

    // 1 × 2 vectors for the last rows of a block: same FMA chain per element as Kernel6.
    private static void Kernel1<TOps, TVec>(ref float a, ref float b, int kc, ref float c, bool load)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int w = TOps.Width, nr = 2 * w;
        TVec x0 = load ? TOps.Load(ref c) : TOps.Zero;
        TVec x1 = load ? TOps.Load(ref Unsafe.Add(ref c, w)) : TOps.Zero;
        ref float bk = ref b;
        for (int k = 0; k < kc; k++)
        {
            TVec av = TOps.Broadcast(Unsafe.Add(ref a, k));
            x0 = TOps.MultiplyAdd(av, TOps.Load(ref bk), x0);
            x1 = TOps.MultiplyAdd(av, TOps.Load(ref Unsafe.Add(ref bk, w)), x1);
            bk = ref Unsafe.Add(ref bk, nr);
        }
        TOps.Store(x0, ref c);
        TOps.Store(x1, ref Unsafe.Add(ref c, w));
    }
}
