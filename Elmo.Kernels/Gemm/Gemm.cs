using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Elmo.Kernels.Simd;

namespace Elmo.Kernels.Gemm;

/// <summary>
/// Single-precision matrix product <c>C = A·B</c> or <c>C += A·B</c> with <c>B</c> packed once
/// (<see cref="PackedMatrix"/>), BLIS style: columns are cut into blocks of NC panels and K into blocks of KC, rows into
/// blocks of MC (packed per thread into micro-panels), with KC, MC and NC derived from this machine's cache sizes
/// (<see cref="GemmBlocking"/>); a register-blocked micro-kernel of <see cref="WideRows"/> rows (AVX-512, 32
/// registers) or <see cref="MicroRows"/> rows (the other paths) × one panel of two vectors does the work. The last
/// rows of a block (fewer than <see cref="MicroRows"/>), which include the whole product at batch sizes below six, run
/// on kernels that take several panels at once, so that they still keep eight or more independent accumulators in
/// flight.
/// </summary>
/// <remarks>
/// <para><b>Accumulation order (the contract every path, tile and thread count keeps).</b> K is cut into blocks of
/// <see cref="SumBlock"/> from k = 0, the same on every path (the cache blocks, <see cref="GemmBlocking.KBlock"/>, are
/// multiples of it and so change nothing). Within a block, each element of C is one fused
/// multiply-add chain over the block's k in order, <i>starting from zero</i>; the block's sum is then added to C
/// with one rounding (or stored as it is, for the first block when C is overwritten):
/// <c>c = (((c₀ + s₀) + s₁) + …)</c>, <c>s_b = fma(a_k, b_k, … fma(a_k₀, b_k₀, 0))</c>. Summing short chains and
/// then the block sums keeps the rounding error of a long dot product (K = 2048 in the highway layers, 4096 in the
/// LSTM projection) about √(K / SumBlock) times smaller than one chain over all of K would, at the cost of one
/// vector add per accumulator per block. Every micro-kernel is called on one accumulation block at a time (never more
/// than <see cref="SumBlock"/> steps of k), starts its accumulators at zero and ends with <see cref="Flush{TOps, TVec}"/>; results are bitwise identical for any batch composition, thread count and
/// path (the scalar path uses <see cref="MathF.FusedMultiplyAdd"/>). A kernel retuned for speed must keep this
/// order: how the k loop is unrolled is free, but not the block boundaries, the zero start, or k order inside a block.</para>
/// </remarks>
public static class Gemm
{
    /// <summary>Rows of the six-row micro-kernel (every path; on AVX-512 the last six rows of a block that are not twelve, and blocks of A read in place).</summary>
    public const int MicroRows = 6;

    /// <summary>Rows of the AVX-512 micro-kernel (<c>Kernel12x1</c>: 24 zmm accumulators), used on packed A blocks.</summary>
    public const int WideRows = 12;

    /// <summary>
    /// Depth of one accumulation block, the same on every path (it fixes the accumulation order, see the remarks): the
    /// micro-kernels sum the products of 128 consecutive k from zero, then add that sum to C (in L1: the tile was just
    /// written). It brings the float32 error of the K = 2048…4096 products below that of PyTorch's OpenBLAS
    /// (docs/accuracy.md); 64 gave no clear further gain.
    /// </summary>
    public const int SumBlock = 128;

    /// <summary>Panels a block of A must serve before packing it pays for the copy.</summary>
    private const int PackMinPanels = 4;

    /// <summary>Per-thread buffer for the packed A block (MBlock × KBlock floats of the largest blocking in use), allocated once per thread.</summary>
    [ThreadStatic]
    private static float[]? _packedA;

    /// <summary>The blocking of the widest path of this machine (KC, MC, NC from its cache sizes), for reports.</summary>
    public static GemmBlocking Blocking => GemmBlocking.ForPanelWidth(2 * KernelPaths.Width(KernelPaths.Best));

    /// <summary>The per-thread packed-A buffer, large enough for <paramref name="blocking"/>.</summary>
    private static ref float PackedA(GemmBlocking blocking)
    {
        int length = blocking.MBlock * blocking.KBlock;
        if (_packedA is null || _packedA.Length < length) _packedA = new float[length];
        return ref MemoryMarshal.GetArrayDataReference(_packedA);
    }

    /// <summary>Floating-point operations below which a product is not split between threads (the hand-off costs more).</summary>
    private const long MinFlopsPerWorker = 4_000_000;

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
    public static void Multiply(ReadOnlySpan<float> a, int m, int lda, PackedMatrix b, Span<float> c, int ldc, bool accumulate, int threads = 1) =>
        MultiplyBlocked(a, m, lda, b, c, ldc, accumulate, threads, blocking: null);

    /// <summary><see cref="Multiply"/> with a given cache blocking instead of this machine's (tests: small blocks exercise every loop on small products).</summary>
    internal static void MultiplyBlocked(ReadOnlySpan<float> a, int m, int lda, PackedMatrix b, Span<float> c, int ldc, bool accumulate, int threads, GemmBlocking? blocking)
    {
        if (blocking is not null)
        {
            if (blocking.PanelWidth != b?.PanelWidth) throw new ArgumentException($"The blocking is for {blocking.PanelWidth}-column panels, B has {b?.PanelWidth}.", nameof(blocking));
            if (blocking.KBlock <= 0 || blocking.KBlock % SumBlock != 0) throw new ArgumentException($"KC = {blocking.KBlock} is not a positive multiple of the accumulation block ({SumBlock}).", nameof(blocking));
            if (blocking.MBlock < 1 || blocking.NBlock < 1) throw new ArgumentException($"MC and NC must be positive: {blocking}.", nameof(blocking));
        }
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

        GemmCounters.Add(2L * m * n * k, b.SizeInBytes);
        int panels = b.PanelCount;
        // Split columns between threads only when each gets enough work to pay for the hand-off.
        long flops = 2L * m * n * k;
        int workers = (int)Math.Min(Math.Min(threads, panels), Math.Max(1, flops / MinFlopsPerWorker));
        if (workers <= 1)
        {
            Run(ref MemoryMarshal.GetReference(a), m, lda, b, ref MemoryMarshal.GetReference(c), ldc, accumulate, 0, panels, blocking);
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
                    Run(ref *aPtr, m, lda, b, ref *cPtr, ldc, accumulate, p0, p1, blocking);
                });
            }
        }
    }

    private static void Run(ref float a, int m, int lda, PackedMatrix b, ref float c, int ldc, bool accumulate, int panel0, int panel1, GemmBlocking? blocking)
    {
        if (m == 1)
        {
            // One row (batch 1): bound by memory; B read four panels at a time, each over all of K (GemvKernels).
            if (b.Precision == WeightPrecision.Fp32)
            {
                GemvKernels.Row(ref a, b, ref c, accumulate, panel0, panel1);
                return;
            }
            panel0 = GemvKernels.RowWidened(ref a, b, ref c, accumulate, panel0, panel1);
            if (panel0 == panel1) return;
        }
        if (b.Precision != WeightPrecision.Fp32)
        {
            RunWidened(ref a, m, lda, b, ref c, ldc, accumulate, panel0, panel1, blocking);
            return;
        }
        switch (b.Path)
        {
            case KernelPath.Vector512:
                Run<Vector512Ops, Vector512<float>>(ref a, m, lda, b, ref c, ldc, accumulate, panel0, panel1, blocking);
                break;
            case KernelPath.Vector256:
                Run<Vector256Ops, Vector256<float>>(ref a, m, lda, b, ref c, ldc, accumulate, panel0, panel1, blocking);
                break;
            case KernelPath.Vector128:
                Run<Vector128Ops, Vector128<float>>(ref a, m, lda, b, ref c, ldc, accumulate, panel0, panel1, blocking);
                break;
            default:
                Run<ScalarOps, float>(ref a, m, lda, b, ref c, ldc, accumulate, panel0, panel1, blocking);
                break;
        }
    }

    /// <summary>Panels the kernel for the last <paramref name="rows"/> (&lt; MicroRows) rows of a block takes at once.</summary>
    private static int TailPanels(int rows) => rows switch
    {
        1 => 4,
        2 or 3 => 2,
        _ => 1,
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TOps, TVec>(ref float a, int m, int lda, PackedMatrix b, ref float c, int ldc, bool accumulate, int panel0, int panel1, GemmBlocking? blocking)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int k = b.Rows, n = b.Columns, nr = b.PanelWidth;
        int fullPanels = n / nr; // panels without zero padding
        nint panelStride = (nint)k * nr;
        ref float panels = ref MemoryMarshal.GetArrayDataReference(b.Panels);
        Span<float> edgeTile = stackalloc float[WideRows * 32];
        ref float edge = ref MemoryMarshal.GetReference(edgeTile);
        blocking ??= GemmBlocking.ForPanelWidth(nr);
        ref float packed = ref PackedA(blocking);
        int kBlock = blocking.KBlock, mBlock = blocking.MBlock;
        // Column blocks (NC, in panels) from six rows up: B's KC × NC block stays in L3 across the row blocks, and the
        // C block the K blocks revisit stays in L2 (without it a 64 × 16384 product re-streams all 4 MiB of C from
        // memory once per K block). A multiple of four panels, so that the tail kernels' panel groups never straddle
        // two column blocks.
        // Only when something is revisited: C by a second K block, or B by a second row block.
        int nBlock = m >= MicroRows && (k > kBlock || m > mBlock) ? blocking.ColumnBlock(Math.Min(m, mBlock)) : int.MaxValue;

        for (int j0 = panel0; j0 < panel1; j0 = (int)Math.Min((long)j0 + nBlock, panel1))
        {
            int j1 = (int)Math.Min((long)j0 + nBlock, panel1);
            for (int k0 = 0; k0 < k; k0 += kBlock)
            {
                int kc = Math.Min(kBlock, k - k0);
                bool load = accumulate || k0 > 0;
                for (int i0 = 0; i0 < m; i0 += mBlock)
                {
                    int mc = Math.Min(mBlock, m - i0);
                    int tail = mc % MicroRows, full = mc - tail;
                    int group = TailPanels(tail);
                    ref float aBlock = ref Unsafe.Add(ref a, (nint)i0 * lda + k0);
                    ref float cBlock = ref Unsafe.Add(ref c, (nint)i0 * ldc);
                    // Packing pays off when the block is reused over several panels; otherwise read A in place.
                    bool pack = j1 - j0 >= PackMinPanels;
                    // Tile height: twelve rows on AVX-512 (32 registers) over packed A, else six.
                    int mr = pack && TOps.Width == 16 ? WideRows : MicroRows;
                    if (pack) PackA(ref aBlock, lda, full, kc, ref packed, mr);
                    nint rowStep = pack ? 1 : lda;
                    for (int p = j0; p < j1; p += group)
                    {
                        int pEnd = Math.Min(p + group, j1);
                        for (int q = p; q < pEnd; q++)
                        {
                            ref float bq = ref Unsafe.Add(ref panels, q * panelStride + (nint)k0 * nr);
                            ref float cq = ref Unsafe.Add(ref cBlock, q * nr);
                            int nc = Math.Min(nr, n - q * nr);
                            for (int i = 0; i < full;)
                            {
                                int rows = full - i >= mr ? mr : MicroRows;
                                nint kStep = pack ? rows : 1;
                                ref float ai = ref pack ? ref Unsafe.Add(ref packed, i * kc) : ref Unsafe.Add(ref aBlock, (nint)i * lda);
                                ref float ci = ref Unsafe.Add(ref cq, (nint)i * ldc);
                                // The first tile of a panel also prefetches the next panel's block, one k-row per k; with
                                // two twelve-row tiles or more, the first two share it (one cache line of each 128-byte
                                // k-row each), which halves the burst of outstanding misses.
                                nint prefetch = 0;
                                bool prefetchBoth = true;
                                if (i < 2 * WideRows)
                                {
                                    // The block the sweep reads next: the next panel; after the last panel of a column block, its first
                                    // panel for the next row block or the next K block, else the next column block's first panel.
                                    nint next = q + 1 < j1 ? panelStride
                                        : i0 + mBlock < m ? (j0 - q) * panelStride
                                        : k0 + kc < k ? (j0 - q) * panelStride + (nint)kc * nr
                                        : j1 < panel1 ? (j1 - q) * panelStride - (nint)k0 * nr
                                        : 0;
                                    if (next != 0 && rows == WideRows && full >= 2 * WideRows)
                                    {
                                        prefetch = next + (i == 0 ? 0 : Prefetch.LineFloats);
                                        prefetchBoth = false;
                                    }
                                    else if (next != 0 && i == 0)
                                    {
                                        prefetch = next;
                                    }
                                }
                                bool inPlace = nc == nr;
                                ref float tileC = ref inPlace ? ref ci : ref edge;
                                int ldt = inPlace ? ldc : nr;
                                // Zero-padded last panel: work in a full-width scratch tile, copy the valid columns.
                                if (!inPlace) EdgeIn(ref ci, ldc, ref edge, nr, rows, nc, load);
                                for (int s0 = 0; s0 < kc; s0 += SumBlock)
                                {
                                    int sc = Math.Min(SumBlock, kc - s0);
                                    if (rows == WideRows)
                                    {
                                        Kernel12x1<TOps, TVec>(ref Unsafe.Add(ref ai, s0 * WideRows), ref Unsafe.Add(ref bq, s0 * nr), sc, ref tileC, ldt, load || s0 > 0, prefetch, prefetchBoth);
                                    }
                                    else
                                    {
                                        Kernel6x1<TOps, TVec>(ref Unsafe.Add(ref ai, s0 * kStep), rowStep, kStep, ref Unsafe.Add(ref bq, s0 * nr), sc, ref tileC, ldt, load || s0 > 0, prefetch);
                                    }
                                }
                                if (!inPlace) EdgeOut(ref edge, nr, ref ci, ldc, rows, nc);
                                i += rows;
                            }
                        }

                        if (tail == 0)
                        {
                            continue;
                        }

                        // The last rows, over the panels just used (still in cache).
                        ref float at = ref Unsafe.Add(ref aBlock, (nint)full * lda);
                        ref float ct = ref Unsafe.Add(ref cBlock, (nint)full * ldc);
                        ref float bp = ref Unsafe.Add(ref panels, p * panelStride + (nint)k0 * nr);
                        ref float cp = ref Unsafe.Add(ref ct, p * nr);
                        if (pEnd - p == group && pEnd <= fullPanels)
                        {
                            // Without full tiles (small batches, memory-bound) these also prefetch the next group of panels.
                            nint prefetch = full == 0 && pEnd + group <= j1 ? group * panelStride : 0;
                            for (int s0 = 0; s0 < kc; s0 += SumBlock)
                            {
                                ref float a0 = ref Unsafe.Add(ref at, s0);
                                ref float b0 = ref Unsafe.Add(ref bp, s0 * nr);
                                int sc = Math.Min(SumBlock, kc - s0);
                                bool ld = load || s0 > 0;
                                switch (tail)
                                {
                                    case 1: Kernel1x4<TOps, TVec>(ref a0, ref b0, panelStride, sc, ref cp, nr, ld, prefetch); break;
                                    case 2: Kernel2x2<TOps, TVec>(ref a0, lda, ref b0, panelStride, sc, ref cp, ldc, nr, ld, prefetch); break;
                                    case 3: Kernel3x2<TOps, TVec>(ref a0, lda, ref b0, panelStride, sc, ref cp, ldc, nr, ld, prefetch); break;
                                    case 4: Kernel4x1<TOps, TVec>(ref a0, lda, ref b0, sc, ref cp, ldc, ld, prefetch); break;
                                    default: Kernel5x1<TOps, TVec>(ref a0, lda, ref b0, sc, ref cp, ldc, ld, prefetch); break;
                                }
                            }
                        }
                        else
                        {
                            // Fewer panels left than the group, or the zero-padded last panel: one row and panel at a time.
                            for (int q = p; q < pEnd; q++)
                            {
                                RowByRow<TOps, TVec>(ref at, lda, tail, ref Unsafe.Add(ref panels, q * panelStride + (nint)k0 * nr), nr, Math.Min(nr, n - q * nr), kc, ref Unsafe.Add(ref ct, q * nr), ldc, load, ref edge);
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>Per-thread buffer for panel blocks widened from bfloat16 or int8 (up to four panel blocks of the blocking's KC).</summary>
    [ThreadStatic]
    private static float[]? _widened;

    private static void RunWidened(ref float a, int m, int lda, PackedMatrix b, ref float c, int ldc, bool accumulate, int panel0, int panel1, GemmBlocking? blocking)
    {
        switch (b.Path)
        {
            case KernelPath.Vector512:
                RunWidened<Vector512Ops, Vector512<float>>(ref a, m, lda, b, ref c, ldc, accumulate, panel0, panel1, blocking);
                break;
            case KernelPath.Vector256:
                RunWidened<Vector256Ops, Vector256<float>>(ref a, m, lda, b, ref c, ldc, accumulate, panel0, panel1, blocking);
                break;
            case KernelPath.Vector128:
                RunWidened<Vector128Ops, Vector128<float>>(ref a, m, lda, b, ref c, ldc, accumulate, panel0, panel1, blocking);
                break;
            default:
                RunWidened<ScalarOps, float>(ref a, m, lda, b, ref c, ldc, accumulate, panel0, panel1, blocking);
                break;
        }
    }

    /// <summary>
    /// <see cref="Run{TOps, TVec}"/> for a bfloat16 or int8 B: the same blocking, tiles and micro-kernels, with each
    /// group of panel blocks widened to float32 (<see cref="PanelWidening"/>) into a per-thread buffer just before the
    /// kernels read it, in the same accumulation blocks of <see cref="SumBlock"/> as the float32 product: the same bits
    /// as the float32 product of the dequantised values, on every path, for any batch composition and threads.
    /// Memory is read once per block at a half or a quarter of the bytes; no software prefetch (the hardware
    /// prefetchers follow the sequential panel reads of the widening loop).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunWidened<TOps, TVec>(ref float a, int m, int lda, PackedMatrix b, ref float c, int ldc, bool accumulate, int panel0, int panel1, GemmBlocking? blocking)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int k = b.Rows, n = b.Columns, nr = b.PanelWidth;
        int fullPanels = n / nr;
        Span<float> edgeTile = stackalloc float[MicroRows * 32];
        ref float edge = ref MemoryMarshal.GetReference(edgeTile);
        blocking ??= GemmBlocking.ForPanelWidth(nr);
        ref float packed = ref PackedA(blocking);
        int kBlock = blocking.KBlock, mBlock = blocking.MBlock;
        const int MaxGroup = 4; // TailPanels' largest group
        int wideLength = MaxGroup * kBlock * nr;
        if (_widened is null || _widened.Length < wideLength) _widened = new float[wideLength];
        ref float wide = ref MemoryMarshal.GetArrayDataReference(_widened);
        bool fused = WidenedKernels.Supported(b);
        for (int k0 = 0; k0 < k; k0 += kBlock)
        {
            int kc = Math.Min(kBlock, k - k0);
            nint blockStride = (nint)kc * nr; // panel stride in the widened buffer
            bool load = accumulate || k0 > 0;
            for (int i0 = 0; i0 < m; i0 += mBlock)
            {
                int mc = Math.Min(mBlock, m - i0);
                int tail = mc % MicroRows, full = mc - tail;
                int group = TailPanels(tail);
                ref float aBlock = ref Unsafe.Add(ref a, (nint)i0 * lda + k0);
                ref float cBlock = ref Unsafe.Add(ref c, (nint)i0 * ldc);
                bool pack = panel1 - panel0 >= PackMinPanels;
                if (pack) PackA(ref aBlock, lda, full, kc, ref packed, MicroRows);
                nint rowStep = pack ? 1 : lda, kStep = pack ? MicroRows : 1;
                for (int p = panel0; p < panel1; p += group)
                {
                    int pEnd = Math.Min(p + group, panel1);
                    if (fused && full == 0 && tail == 1 && pEnd - p == 4 && pEnd <= fullPanels)
                    {
                        // Batch 1: widen in registers, straight from the reduced panels (one accumulation block at a time).
                        for (int s0 = 0; s0 < kc; s0 += SumBlock)
                        {
                            WidenedKernels.Row1x4(ref Unsafe.Add(ref aBlock, s0), b, p, k0 + s0, Math.Min(SumBlock, kc - s0), ref Unsafe.Add(ref cBlock, p * nr), load || s0 > 0, pEnd + 4 <= panel1);
                        }
                        continue;
                    }
                    PanelWidening.Block(b, p, pEnd - p, k0, kc, ref wide);
                    for (int q = p; q < pEnd; q++)
                    {
                        ref float bq = ref Unsafe.Add(ref wide, (q - p) * blockStride);
                        ref float cq = ref Unsafe.Add(ref cBlock, q * nr);
                        int nc = Math.Min(nr, n - q * nr);
                        for (int i = 0; i < full; i += MicroRows)
                        {
                            ref float ai = ref pack ? ref Unsafe.Add(ref packed, i * kc) : ref Unsafe.Add(ref aBlock, (nint)i * lda);
                            ref float ci = ref Unsafe.Add(ref cq, (nint)i * ldc);
                            if (nc == nr)
                            {
                                for (int s0 = 0; s0 < kc; s0 += SumBlock)
                                {
                                    Kernel6x1<TOps, TVec>(ref Unsafe.Add(ref ai, s0 * kStep), rowStep, kStep, ref Unsafe.Add(ref bq, s0 * nr), Math.Min(SumBlock, kc - s0), ref ci, ldc, load || s0 > 0, 0);
                                }
                            }
                            else
                            {
                                EdgeIn(ref ci, ldc, ref edge, nr, MicroRows, nc, load);
                                for (int s0 = 0; s0 < kc; s0 += SumBlock)
                                {
                                    Kernel6x1<TOps, TVec>(ref Unsafe.Add(ref ai, s0 * kStep), rowStep, kStep, ref Unsafe.Add(ref bq, s0 * nr), Math.Min(SumBlock, kc - s0), ref edge, nr, load || s0 > 0, 0);
                                }
                                EdgeOut(ref edge, nr, ref ci, ldc, MicroRows, nc);
                            }
                        }
                    }

                    if (tail == 0)
                    {
                        continue;
                    }

                    ref float at = ref Unsafe.Add(ref aBlock, (nint)full * lda);
                    ref float ct = ref Unsafe.Add(ref cBlock, (nint)full * ldc);
                    ref float cp = ref Unsafe.Add(ref ct, p * nr);
                    if (pEnd - p == group && pEnd <= fullPanels)
                    {
                        for (int s0 = 0; s0 < kc; s0 += SumBlock)
                        {
                            ref float a0 = ref Unsafe.Add(ref at, s0);
                            ref float b0 = ref Unsafe.Add(ref wide, s0 * nr);
                            int sc = Math.Min(SumBlock, kc - s0);
                            bool ld = load || s0 > 0;
                            switch (tail)
                            {
                                case 1: Kernel1x4<TOps, TVec>(ref a0, ref b0, blockStride, sc, ref cp, nr, ld, 0); break;
                                case 2: Kernel2x2<TOps, TVec>(ref a0, lda, ref b0, blockStride, sc, ref cp, ldc, nr, ld, 0); break;
                                case 3: Kernel3x2<TOps, TVec>(ref a0, lda, ref b0, blockStride, sc, ref cp, ldc, nr, ld, 0); break;
                                case 4: Kernel4x1<TOps, TVec>(ref a0, lda, ref b0, sc, ref cp, ldc, ld, 0); break;
                                default: Kernel5x1<TOps, TVec>(ref a0, lda, ref b0, sc, ref cp, ldc, ld, 0); break;
                            }
                        }
                    }
                    else
                    {
                        for (int q = p; q < pEnd; q++)
                        {
                            RowByRow<TOps, TVec>(ref at, lda, tail, ref Unsafe.Add(ref wide, (q - p) * blockStride), nr, Math.Min(nr, n - q * nr), kc, ref Unsafe.Add(ref ct, q * nr), ldc, load, ref edge);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Ends a micro-kernel's block for one vector of C: the block's sums <paramref name="x"/> (accumulated from zero) are
    /// added to C when <paramref name="load"/> (C holds earlier blocks or the caller's values), else stored as they are.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Flush<TOps, TVec>(TVec x, ref float c, bool load)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        TOps.Store(load ? TOps.Add(TOps.Load(ref c), x) : x, ref c);
    }

    /// <summary>
    /// The last <paramref name="rows"/> rows of a block against one panel, one row at a time: each row is one
    /// <see cref="Kernel1x1{TOps, TVec}"/> call per accumulation block of <see cref="SumBlock"/> (so the order is the
    /// contract's); a panel narrower than <paramref name="nr"/> (the padded last one) goes through the edge tile.
    /// </summary>
    /// <param name="a">First of the rows of A, at the block's first k.</param>
    /// <param name="lda">Row stride of A.</param>
    /// <param name="rows">Rows to compute.</param>
    /// <param name="panel">The panel of B (fp32 or already widened), at the block's first k.</param>
    /// <param name="nr">Panel width.</param>
    /// <param name="nc">Columns of C the panel covers (at most <paramref name="nr"/>).</param>
    /// <param name="kc">Depth of the cache block.</param>
    /// <param name="c">C at the first row and the panel's first column.</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <param name="load">Add to C (false: the first block overwrites it).</param>
    /// <param name="edge">An nr-wide scratch tile.</param>
    private static void RowByRow<TOps, TVec>(ref float a, int lda, int rows, ref float panel, int nr, int nc, int kc, ref float c, int ldc, bool load, ref float edge)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        for (int r = 0; r < rows; r++)
        {
            ref float ar = ref Unsafe.Add(ref a, (nint)r * lda);
            ref float cr = ref Unsafe.Add(ref c, (nint)r * ldc);
            ref float target = ref nc == nr ? ref cr : ref edge;
            if (nc != nr) EdgeIn(ref cr, ldc, ref edge, nr, 1, nc, load);
            for (int s0 = 0; s0 < kc; s0 += SumBlock)
            {
                Kernel1x1<TOps, TVec>(ref Unsafe.Add(ref ar, s0), ref Unsafe.Add(ref panel, s0 * nr), Math.Min(SumBlock, kc - s0), ref target, load || s0 > 0);
            }
            if (nc != nr) EdgeOut(ref edge, nr, ref cr, ldc, 1, nc);
        }
    }

    /// <summary>Prefetches one k-row of a panel (<paramref name="nr"/> floats: one cache line, two at AVX-512).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchRow(ref float row, int nr)
    {
        Prefetch.Line(ref row);
        if (nr > Prefetch.LineFloats) Prefetch.Line(ref Unsafe.Add(ref row, Prefetch.LineFloats));
    }

    internal static void EdgeIn(ref float c, int ldc, ref float tile, int nr, int rows, int nc, bool load)
    {
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < nr; j++)
            {
                Unsafe.Add(ref tile, r * nr + j) = load && j < nc ? Unsafe.Add(ref c, (nint)r * ldc + j) : 0f;
            }
        }
    }

    internal static void EdgeOut(ref float tile, int nr, ref float c, int ldc, int rows, int nc)
    {
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < nc; j++)
            {
                Unsafe.Add(ref c, (nint)r * ldc + j) = Unsafe.Add(ref tile, r * nr + j);
            }
        }
    }

    /// <summary>
    /// Copies the full tiles of an A block (<paramref name="rows"/>, a multiple of <see cref="MicroRows"/>, by <paramref name="kc"/>)
    /// into micro-panels: tiles of <paramref name="tileRows"/> rows (6 or 12) and, when fewer are left, one of six; each tile
    /// k-major, its values of one k side by side, starting at row index × <paramref name="kc"/>. The micro-kernel then
    /// broadcasts from one sequential stream instead of six or twelve strided rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(ref float a, int lda, int rows, int kc, ref float packed, int tileRows)
    {
        nint s = lda;
        for (int i = 0; i < rows;)
        {
            int h = rows - i >= tileRows ? tileRows : MicroRows;
            ref float tile = ref Unsafe.Add(ref packed, i * kc);
            for (int r0 = 0; r0 < h; r0 += MicroRows)
            {
                // Six rows at a time into their columns of the tile.
                ref float row = ref Unsafe.Add(ref a, (nint)(i + r0) * lda);
                for (int k = 0; k < kc; k++)
                {
                    ref float t = ref Unsafe.Add(ref tile, k * h + r0);
                    ref float x = ref Unsafe.Add(ref row, k);
                    t = x;
                    Unsafe.Add(ref t, 1) = Unsafe.Add(ref x, s);
                    Unsafe.Add(ref t, 2) = Unsafe.Add(ref x, 2 * s);
                    Unsafe.Add(ref t, 3) = Unsafe.Add(ref x, 3 * s);
                    Unsafe.Add(ref t, 4) = Unsafe.Add(ref x, 4 * s);
                    Unsafe.Add(ref t, 5) = Unsafe.Add(ref x, 5 * s);
                }
            }
            i += h;
        }
    }

    // 12 rows × 1 panel (2 zmm), AVX-512 only (32 registers): 24 accumulators + 2 B vectors + 1 broadcast = 27 of the 32
    // zmm registers (the broadcasts may also be folded into the FMAs as {1to16} memory operands). A is packed
    // (PackA, twelve values per k); per k: 2 loads of B from L1, 12 broadcasts, 24 FMAs, so the two FMA pipes, not the
    // load ports, set the pace, and 24 independent chains cover the FMA latency (4 cycles × 2 pipes = 8 needed) three
    // times over. A non-zero prefetch offset also touches B at that distance (the next panel): one cache line per k, or both
    // lines of the 128-byte k-row with prefetchBoth.
    // Every element of C is still one FMA chain over k in order from zero, flushed once (the accumulation contract).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel12x1<TOps, TVec>(ref float a, ref float b, int kc, ref float c, int ldc, bool load, nint prefetch, bool prefetchBoth)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int w = TOps.Width, nr = 2 * w;
        TVec x00, x01, x10, x11, x20, x21, x30, x31, x40, x41, x50, x51;
        TVec x60, x61, x70, x71, x80, x81, x90, x91, xa0, xa1, xb0, xb1;
        x00 = x01 = x10 = x11 = x20 = x21 = x30 = x31 = x40 = x41 = x50 = x51 = TOps.Zero;
        x60 = x61 = x70 = x71 = x80 = x81 = x90 = x91 = xa0 = xa1 = xb0 = xb1 = TOps.Zero;

        ref float ak = ref a;
        ref float bk = ref b;
        for (int k = 0; k < kc; k++)
        {
            if (prefetch != 0)
            {
                Prefetch.Line(ref Unsafe.Add(ref bk, prefetch));
                if (prefetchBoth && nr > Prefetch.LineFloats) Prefetch.Line(ref Unsafe.Add(ref bk, prefetch + Prefetch.LineFloats));
            }
            TVec b0 = TOps.Load(ref bk), b1 = TOps.Load(ref Unsafe.Add(ref bk, w));
            TVec av = TOps.Broadcast(ak);
            x00 = TOps.MultiplyAdd(av, b0, x00); x01 = TOps.MultiplyAdd(av, b1, x01);
            av = TOps.Broadcast(Unsafe.Add(ref ak, 1));
            x10 = TOps.MultiplyAdd(av, b0, x10); x11 = TOps.MultiplyAdd(av, b1, x11);
            av = TOps.Broadcast(Unsafe.Add(ref ak, 2));
            x20 = TOps.MultiplyAdd(av, b0, x20); x21 = TOps.MultiplyAdd(av, b1, x21);
            av = TOps.Broadcast(Unsafe.Add(ref ak, 3));
            x30 = TOps.MultiplyAdd(av, b0, x30); x31 = TOps.MultiplyAdd(av, b1, x31);
            av = TOps.Broadcast(Unsafe.Add(ref ak, 4));
            x40 = TOps.MultiplyAdd(av, b0, x40); x41 = TOps.MultiplyAdd(av, b1, x41);
            av = TOps.Broadcast(Unsafe.Add(ref ak, 5));
            x50 = TOps.MultiplyAdd(av, b0, x50); x51 = TOps.MultiplyAdd(av, b1, x51);
            av = TOps.Broadcast(Unsafe.Add(ref ak, 6));
            x60 = TOps.MultiplyAdd(av, b0, x60); x61 = TOps.MultiplyAdd(av, b1, x61);
            av = TOps.Broadcast(Unsafe.Add(ref ak, 7));
            x70 = TOps.MultiplyAdd(av, b0, x70); x71 = TOps.MultiplyAdd(av, b1, x71);
            av = TOps.Broadcast(Unsafe.Add(ref ak, 8));
            x80 = TOps.MultiplyAdd(av, b0, x80); x81 = TOps.MultiplyAdd(av, b1, x81);
            av = TOps.Broadcast(Unsafe.Add(ref ak, 9));
            x90 = TOps.MultiplyAdd(av, b0, x90); x91 = TOps.MultiplyAdd(av, b1, x91);
            av = TOps.Broadcast(Unsafe.Add(ref ak, 10));
            xa0 = TOps.MultiplyAdd(av, b0, xa0); xa1 = TOps.MultiplyAdd(av, b1, xa1);
            av = TOps.Broadcast(Unsafe.Add(ref ak, 11));
            xb0 = TOps.MultiplyAdd(av, b0, xb0); xb1 = TOps.MultiplyAdd(av, b1, xb1);
            ak = ref Unsafe.Add(ref ak, WideRows);
            bk = ref Unsafe.Add(ref bk, nr);
        }

        nint s = ldc;
        ref float c0 = ref c;
        Flush<TOps, TVec>(x00, ref c0, load); Flush<TOps, TVec>(x01, ref Unsafe.Add(ref c0, w), load);
        c0 = ref Unsafe.Add(ref c0, s);
        Flush<TOps, TVec>(x10, ref c0, load); Flush<TOps, TVec>(x11, ref Unsafe.Add(ref c0, w), load);
        c0 = ref Unsafe.Add(ref c0, s);
        Flush<TOps, TVec>(x20, ref c0, load); Flush<TOps, TVec>(x21, ref Unsafe.Add(ref c0, w), load);
        c0 = ref Unsafe.Add(ref c0, s);
        Flush<TOps, TVec>(x30, ref c0, load); Flush<TOps, TVec>(x31, ref Unsafe.Add(ref c0, w), load);
        c0 = ref Unsafe.Add(ref c0, s);
        Flush<TOps, TVec>(x40, ref c0, load); Flush<TOps, TVec>(x41, ref Unsafe.Add(ref c0, w), load);
        c0 = ref Unsafe.Add(ref c0, s);
        Flush<TOps, TVec>(x50, ref c0, load); Flush<TOps, TVec>(x51, ref Unsafe.Add(ref c0, w), load);
        c0 = ref Unsafe.Add(ref c0, s);
        Flush<TOps, TVec>(x60, ref c0, load); Flush<TOps, TVec>(x61, ref Unsafe.Add(ref c0, w), load);
        c0 = ref Unsafe.Add(ref c0, s);
        Flush<TOps, TVec>(x70, ref c0, load); Flush<TOps, TVec>(x71, ref Unsafe.Add(ref c0, w), load);
        c0 = ref Unsafe.Add(ref c0, s);
        Flush<TOps, TVec>(x80, ref c0, load); Flush<TOps, TVec>(x81, ref Unsafe.Add(ref c0, w), load);
        c0 = ref Unsafe.Add(ref c0, s);
        Flush<TOps, TVec>(x90, ref c0, load); Flush<TOps, TVec>(x91, ref Unsafe.Add(ref c0, w), load);
        c0 = ref Unsafe.Add(ref c0, s);
        Flush<TOps, TVec>(xa0, ref c0, load); Flush<TOps, TVec>(xa1, ref Unsafe.Add(ref c0, w), load);
        c0 = ref Unsafe.Add(ref c0, s);
        Flush<TOps, TVec>(xb0, ref c0, load); Flush<TOps, TVec>(xb1, ref Unsafe.Add(ref c0, w), load);
    }

    // 6 rows × 1 panel (2 vectors): 12 accumulators + 2 B vectors + 1 broadcast = 15 registers
    // (of 16 on AVX2, 32 on AVX-512). A(r, k) is at a[r·rowStep + k·kStep]: packed (1, 6, see PackA) or in place (lda, 1).
    // A non-zero prefetch offset also touches B at that distance (the next panel), one cache line per k. The loop is
    // unrolled twice: 24 FMAs per branch instead of 12 (+5–18 % at the LSTM shapes on one Zen 3 core, medians of 21
    // runs alternating in ABBA order; end to end within noise); k still runs in order, so every element is the same
    // FMA chain.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x1<TOps, TVec>(ref float a, nint rowStep, nint kStep, ref float b, int kc, ref float c, int ldc, bool load, nint prefetch)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int w = TOps.Width, nr = 2 * w;
        ref float c0 = ref c;
        ref float c1 = ref Unsafe.Add(ref c, ldc);
        ref float c2 = ref Unsafe.Add(ref c, 2 * (nint)ldc);
        ref float c3 = ref Unsafe.Add(ref c, 3 * (nint)ldc);
        ref float c4 = ref Unsafe.Add(ref c, 4 * (nint)ldc);
        ref float c5 = ref Unsafe.Add(ref c, 5 * (nint)ldc);
        TVec x00, x01, x10, x11, x20, x21, x30, x31, x40, x41, x50, x51;
        x00 = x01 = x10 = x11 = x20 = x21 = x30 = x31 = x40 = x41 = x50 = x51 = TOps.Zero;

        // Two row pointers, so every A operand is base + {0, 1, 2}·rowStep: no address arithmetic in the loop.
        ref float a0 = ref a;
        ref float a3 = ref Unsafe.Add(ref a, 3 * rowStep);
        ref float bk = ref b;
        nint r2 = 2 * rowStep;
        int k = 0;
        // Two steps of k per pass (each in its own scope: same locals), and the odd last one after the loop.
        for (; k + 1 < kc; k += 2)
        {
            if (prefetch != 0)
            {
                PrefetchRow(ref Unsafe.Add(ref bk, prefetch), nr);
                PrefetchRow(ref Unsafe.Add(ref bk, prefetch + nr), nr);
            }

            {
                TVec b0 = TOps.Load(ref bk), b1 = TOps.Load(ref Unsafe.Add(ref bk, w));
                TVec av = TOps.Broadcast(a0);
                x00 = TOps.MultiplyAdd(av, b0, x00); x01 = TOps.MultiplyAdd(av, b1, x01);
                av = TOps.Broadcast(Unsafe.Add(ref a0, rowStep));
                x10 = TOps.MultiplyAdd(av, b0, x10); x11 = TOps.MultiplyAdd(av, b1, x11);
                av = TOps.Broadcast(Unsafe.Add(ref a0, r2));
                x20 = TOps.MultiplyAdd(av, b0, x20); x21 = TOps.MultiplyAdd(av, b1, x21);
                av = TOps.Broadcast(a3);
                x30 = TOps.MultiplyAdd(av, b0, x30); x31 = TOps.MultiplyAdd(av, b1, x31);
                av = TOps.Broadcast(Unsafe.Add(ref a3, rowStep));
                x40 = TOps.MultiplyAdd(av, b0, x40); x41 = TOps.MultiplyAdd(av, b1, x41);
                av = TOps.Broadcast(Unsafe.Add(ref a3, r2));
                x50 = TOps.MultiplyAdd(av, b0, x50); x51 = TOps.MultiplyAdd(av, b1, x51);
                a0 = ref Unsafe.Add(ref a0, kStep);
                a3 = ref Unsafe.Add(ref a3, kStep);
                bk = ref Unsafe.Add(ref bk, nr);
            }
            {
                TVec b0 = TOps.Load(ref bk), b1 = TOps.Load(ref Unsafe.Add(ref bk, w));
                TVec av = TOps.Broadcast(a0);
                x00 = TOps.MultiplyAdd(av, b0, x00); x01 = TOps.MultiplyAdd(av, b1, x01);
                av = TOps.Broadcast(Unsafe.Add(ref a0, rowStep));
                x10 = TOps.MultiplyAdd(av, b0, x10); x11 = TOps.MultiplyAdd(av, b1, x11);
                av = TOps.Broadcast(Unsafe.Add(ref a0, r2));
                x20 = TOps.MultiplyAdd(av, b0, x20); x21 = TOps.MultiplyAdd(av, b1, x21);
                av = TOps.Broadcast(a3);
                x30 = TOps.MultiplyAdd(av, b0, x30); x31 = TOps.MultiplyAdd(av, b1, x31);
                av = TOps.Broadcast(Unsafe.Add(ref a3, rowStep));
                x40 = TOps.MultiplyAdd(av, b0, x40); x41 = TOps.MultiplyAdd(av, b1, x41);
                av = TOps.Broadcast(Unsafe.Add(ref a3, r2));
                x50 = TOps.MultiplyAdd(av, b0, x50); x51 = TOps.MultiplyAdd(av, b1, x51);
                a0 = ref Unsafe.Add(ref a0, kStep);
                a3 = ref Unsafe.Add(ref a3, kStep);
                bk = ref Unsafe.Add(ref bk, nr);
            }
        }

        if (k < kc)
        {
            if (prefetch != 0) PrefetchRow(ref Unsafe.Add(ref bk, prefetch), nr);
            TVec b0 = TOps.Load(ref bk), b1 = TOps.Load(ref Unsafe.Add(ref bk, w));
            TVec av = TOps.Broadcast(a0);
            x00 = TOps.MultiplyAdd(av, b0, x00); x01 = TOps.MultiplyAdd(av, b1, x01);
            av = TOps.Broadcast(Unsafe.Add(ref a0, rowStep));
            x10 = TOps.MultiplyAdd(av, b0, x10); x11 = TOps.MultiplyAdd(av, b1, x11);
            av = TOps.Broadcast(Unsafe.Add(ref a0, r2));
            x20 = TOps.MultiplyAdd(av, b0, x20); x21 = TOps.MultiplyAdd(av, b1, x21);
            av = TOps.Broadcast(a3);
            x30 = TOps.MultiplyAdd(av, b0, x30); x31 = TOps.MultiplyAdd(av, b1, x31);
            av = TOps.Broadcast(Unsafe.Add(ref a3, rowStep));
            x40 = TOps.MultiplyAdd(av, b0, x40); x41 = TOps.MultiplyAdd(av, b1, x41);
            av = TOps.Broadcast(Unsafe.Add(ref a3, r2));
            x50 = TOps.MultiplyAdd(av, b0, x50); x51 = TOps.MultiplyAdd(av, b1, x51);
            a0 = ref Unsafe.Add(ref a0, kStep);
            a3 = ref Unsafe.Add(ref a3, kStep);
            bk = ref Unsafe.Add(ref bk, nr);
        }

        Flush<TOps, TVec>(x00, ref c0, load); Flush<TOps, TVec>(x01, ref Unsafe.Add(ref c0, w), load);
        Flush<TOps, TVec>(x10, ref c1, load); Flush<TOps, TVec>(x11, ref Unsafe.Add(ref c1, w), load);
        Flush<TOps, TVec>(x20, ref c2, load); Flush<TOps, TVec>(x21, ref Unsafe.Add(ref c2, w), load);
        Flush<TOps, TVec>(x30, ref c3, load); Flush<TOps, TVec>(x31, ref Unsafe.Add(ref c3, w), load);
        Flush<TOps, TVec>(x40, ref c4, load); Flush<TOps, TVec>(x41, ref Unsafe.Add(ref c4, w), load);
        Flush<TOps, TVec>(x50, ref c5, load); Flush<TOps, TVec>(x51, ref Unsafe.Add(ref c5, w), load);
    }

    // 5 rows × 1 panel: 10 accumulators + 2 B + 1 broadcast = 13 registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel5x1<TOps, TVec>(ref float a, int lda, ref float b, int kc, ref float c, int ldc, bool load, nint prefetch)
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
        TVec x00, x01, x10, x11, x20, x21, x30, x31, x40, x41;
        x00 = x01 = x10 = x11 = x20 = x21 = x30 = x31 = x40 = x41 = TOps.Zero;

        ref float a0 = ref a;
        ref float a3 = ref Unsafe.Add(ref a, 3 * s);
        ref float bk = ref b;
        for (int k = 0; k < kc; k++)
        {
            if (prefetch != 0) PrefetchRow(ref Unsafe.Add(ref bk, prefetch), nr);
            TVec b0 = TOps.Load(ref bk), b1 = TOps.Load(ref Unsafe.Add(ref bk, w));
            TVec av = TOps.Broadcast(a0);
            x00 = TOps.MultiplyAdd(av, b0, x00); x01 = TOps.MultiplyAdd(av, b1, x01);
            av = TOps.Broadcast(Unsafe.Add(ref a0, s));
            x10 = TOps.MultiplyAdd(av, b0, x10); x11 = TOps.MultiplyAdd(av, b1, x11);
            av = TOps.Broadcast(Unsafe.Add(ref a0, 2 * s));
            x20 = TOps.MultiplyAdd(av, b0, x20); x21 = TOps.MultiplyAdd(av, b1, x21);
            av = TOps.Broadcast(a3);
            x30 = TOps.MultiplyAdd(av, b0, x30); x31 = TOps.MultiplyAdd(av, b1, x31);
            av = TOps.Broadcast(Unsafe.Add(ref a3, s));
            x40 = TOps.MultiplyAdd(av, b0, x40); x41 = TOps.MultiplyAdd(av, b1, x41);
            a0 = ref Unsafe.Add(ref a0, 1);
            a3 = ref Unsafe.Add(ref a3, 1);
            bk = ref Unsafe.Add(ref bk, nr);
        }

        Flush<TOps, TVec>(x00, ref c0, load); Flush<TOps, TVec>(x01, ref Unsafe.Add(ref c0, w), load);
        Flush<TOps, TVec>(x10, ref c1, load); Flush<TOps, TVec>(x11, ref Unsafe.Add(ref c1, w), load);
        Flush<TOps, TVec>(x20, ref c2, load); Flush<TOps, TVec>(x21, ref Unsafe.Add(ref c2, w), load);
        Flush<TOps, TVec>(x30, ref c3, load); Flush<TOps, TVec>(x31, ref Unsafe.Add(ref c3, w), load);
        Flush<TOps, TVec>(x40, ref c4, load); Flush<TOps, TVec>(x41, ref Unsafe.Add(ref c4, w), load);
    }

    // 4 rows × 1 panel: 8 accumulators + 2 B + 1 broadcast = 11 registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel4x1<TOps, TVec>(ref float a, int lda, ref float b, int kc, ref float c, int ldc, bool load, nint prefetch)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int w = TOps.Width, nr = 2 * w;
        nint s = lda;
        ref float c0 = ref c;
        ref float c1 = ref Unsafe.Add(ref c, ldc);
        ref float c2 = ref Unsafe.Add(ref c, 2 * (nint)ldc);
        ref float c3 = ref Unsafe.Add(ref c, 3 * (nint)ldc);
        TVec x00, x01, x10, x11, x20, x21, x30, x31;
        x00 = x01 = x10 = x11 = x20 = x21 = x30 = x31 = TOps.Zero;

        ref float a0 = ref a;
        ref float a2 = ref Unsafe.Add(ref a, 2 * s);
        ref float bk = ref b;
        for (int k = 0; k < kc; k++)
        {
            if (prefetch != 0) PrefetchRow(ref Unsafe.Add(ref bk, prefetch), nr);
            TVec b0 = TOps.Load(ref bk), b1 = TOps.Load(ref Unsafe.Add(ref bk, w));
            TVec av = TOps.Broadcast(a0);
            x00 = TOps.MultiplyAdd(av, b0, x00); x01 = TOps.MultiplyAdd(av, b1, x01);
            av = TOps.Broadcast(Unsafe.Add(ref a0, s));
            x10 = TOps.MultiplyAdd(av, b0, x10); x11 = TOps.MultiplyAdd(av, b1, x11);
            av = TOps.Broadcast(a2);
            x20 = TOps.MultiplyAdd(av, b0, x20); x21 = TOps.MultiplyAdd(av, b1, x21);
            av = TOps.Broadcast(Unsafe.Add(ref a2, s));
            x30 = TOps.MultiplyAdd(av, b0, x30); x31 = TOps.MultiplyAdd(av, b1, x31);
            a0 = ref Unsafe.Add(ref a0, 1);
            a2 = ref Unsafe.Add(ref a2, 1);
            bk = ref Unsafe.Add(ref bk, nr);
        }

        Flush<TOps, TVec>(x00, ref c0, load); Flush<TOps, TVec>(x01, ref Unsafe.Add(ref c0, w), load);
        Flush<TOps, TVec>(x10, ref c1, load); Flush<TOps, TVec>(x11, ref Unsafe.Add(ref c1, w), load);
        Flush<TOps, TVec>(x20, ref c2, load); Flush<TOps, TVec>(x21, ref Unsafe.Add(ref c2, w), load);
        Flush<TOps, TVec>(x30, ref c3, load); Flush<TOps, TVec>(x31, ref Unsafe.Add(ref c3, w), load);
    }

    // 3 rows × 2 panels: 12 accumulators + 2 B + 1 broadcast = 15 registers (B reloaded per panel half).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel3x2<TOps, TVec>(ref float a, int lda, ref float b, nint panelStride, int kc, ref float c, int ldc, int nr, bool load, nint prefetch)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int w = TOps.Width;
        nint s = lda;
        ref float c0 = ref c;
        ref float c1 = ref Unsafe.Add(ref c, ldc);
        ref float c2 = ref Unsafe.Add(ref c, 2 * (nint)ldc);
        TVec x00, x01, x02, x03, x10, x11, x12, x13, x20, x21, x22, x23;
        x00 = x01 = x02 = x03 = x10 = x11 = x12 = x13 = x20 = x21 = x22 = x23 = TOps.Zero;

        ref float a0 = ref a;
        ref float bk = ref b;
        ref float bl = ref Unsafe.Add(ref b, panelStride);
        for (int k = 0; k < kc; k++)
        {
            if (prefetch != 0)
            {
                PrefetchRow(ref Unsafe.Add(ref bk, prefetch), nr);
                PrefetchRow(ref Unsafe.Add(ref bl, prefetch), nr);
            }
            TVec p0 = TOps.Load(ref bk), p1 = TOps.Load(ref Unsafe.Add(ref bk, w));
            TVec av0 = TOps.Broadcast(a0), av1 = TOps.Broadcast(Unsafe.Add(ref a0, s)), av2 = TOps.Broadcast(Unsafe.Add(ref a0, 2 * s));
            x00 = TOps.MultiplyAdd(av0, p0, x00); x01 = TOps.MultiplyAdd(av0, p1, x01);
            x10 = TOps.MultiplyAdd(av1, p0, x10); x11 = TOps.MultiplyAdd(av1, p1, x11);
            x20 = TOps.MultiplyAdd(av2, p0, x20); x21 = TOps.MultiplyAdd(av2, p1, x21);
            p0 = TOps.Load(ref bl); p1 = TOps.Load(ref Unsafe.Add(ref bl, w));
            x02 = TOps.MultiplyAdd(av0, p0, x02); x03 = TOps.MultiplyAdd(av0, p1, x03);
            x12 = TOps.MultiplyAdd(av1, p0, x12); x13 = TOps.MultiplyAdd(av1, p1, x13);
            x22 = TOps.MultiplyAdd(av2, p0, x22); x23 = TOps.MultiplyAdd(av2, p1, x23);
            a0 = ref Unsafe.Add(ref a0, 1);
            bk = ref Unsafe.Add(ref bk, nr);
            bl = ref Unsafe.Add(ref bl, nr);
        }

        // Panel q's columns are C columns q·nr…; the second panel starts nr columns to the right.
        Flush<TOps, TVec>(x00, ref c0, load); Flush<TOps, TVec>(x01, ref Unsafe.Add(ref c0, w), load); Flush<TOps, TVec>(x02, ref Unsafe.Add(ref c0, nr), load); Flush<TOps, TVec>(x03, ref Unsafe.Add(ref c0, nr + w), load);
        Flush<TOps, TVec>(x10, ref c1, load); Flush<TOps, TVec>(x11, ref Unsafe.Add(ref c1, w), load); Flush<TOps, TVec>(x12, ref Unsafe.Add(ref c1, nr), load); Flush<TOps, TVec>(x13, ref Unsafe.Add(ref c1, nr + w), load);
        Flush<TOps, TVec>(x20, ref c2, load); Flush<TOps, TVec>(x21, ref Unsafe.Add(ref c2, w), load); Flush<TOps, TVec>(x22, ref Unsafe.Add(ref c2, nr), load); Flush<TOps, TVec>(x23, ref Unsafe.Add(ref c2, nr + w), load);
    }

    // 2 rows × 2 panels: 8 accumulators + 4 B + 2 broadcasts = 14 registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel2x2<TOps, TVec>(ref float a, int lda, ref float b, nint panelStride, int kc, ref float c, int ldc, int nr, bool load, nint prefetch)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int w = TOps.Width;
        nint s = lda;
        ref float c0 = ref c;
        ref float c1 = ref Unsafe.Add(ref c, ldc);
        TVec x00, x01, x02, x03, x10, x11, x12, x13;
        x00 = x01 = x02 = x03 = x10 = x11 = x12 = x13 = TOps.Zero;

        ref float a0 = ref a;
        ref float bk = ref b;
        ref float bl = ref Unsafe.Add(ref b, panelStride);
        for (int k = 0; k < kc; k++)
        {
            if (prefetch != 0)
            {
                PrefetchRow(ref Unsafe.Add(ref bk, prefetch), nr);
                PrefetchRow(ref Unsafe.Add(ref bl, prefetch), nr);
            }
            TVec p0 = TOps.Load(ref bk), p1 = TOps.Load(ref Unsafe.Add(ref bk, w));
            TVec q0 = TOps.Load(ref bl), q1 = TOps.Load(ref Unsafe.Add(ref bl, w));
            TVec av0 = TOps.Broadcast(a0), av1 = TOps.Broadcast(Unsafe.Add(ref a0, s));
            x00 = TOps.MultiplyAdd(av0, p0, x00); x01 = TOps.MultiplyAdd(av0, p1, x01);
            x02 = TOps.MultiplyAdd(av0, q0, x02); x03 = TOps.MultiplyAdd(av0, q1, x03);
            x10 = TOps.MultiplyAdd(av1, p0, x10); x11 = TOps.MultiplyAdd(av1, p1, x11);
            x12 = TOps.MultiplyAdd(av1, q0, x12); x13 = TOps.MultiplyAdd(av1, q1, x13);
            a0 = ref Unsafe.Add(ref a0, 1);
            bk = ref Unsafe.Add(ref bk, nr);
            bl = ref Unsafe.Add(ref bl, nr);
        }

        Flush<TOps, TVec>(x00, ref c0, load); Flush<TOps, TVec>(x01, ref Unsafe.Add(ref c0, w), load); Flush<TOps, TVec>(x02, ref Unsafe.Add(ref c0, nr), load); Flush<TOps, TVec>(x03, ref Unsafe.Add(ref c0, nr + w), load);
        Flush<TOps, TVec>(x10, ref c1, load); Flush<TOps, TVec>(x11, ref Unsafe.Add(ref c1, w), load); Flush<TOps, TVec>(x12, ref Unsafe.Add(ref c1, nr), load); Flush<TOps, TVec>(x13, ref Unsafe.Add(ref c1, nr + w), load);
    }

    // 1 row × 4 panels (the whole product at batch size 1): 8 accumulators + 8 B loads folded into the FMAs + 1 broadcast.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel1x4<TOps, TVec>(ref float a, ref float b, nint panelStride, int kc, ref float c, int nr, bool load, nint prefetch)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int w = TOps.Width;
        TVec x0, x1, x2, x3, x4, x5, x6, x7;
        x0 = x1 = x2 = x3 = x4 = x5 = x6 = x7 = TOps.Zero;

        ref float b0 = ref b;
        ref float b1 = ref Unsafe.Add(ref b, panelStride);
        ref float b2 = ref Unsafe.Add(ref b, 2 * panelStride);
        ref float b3 = ref Unsafe.Add(ref b, 3 * panelStride);
        for (int k = 0; k < kc; k++)
        {
            if (prefetch != 0)
            {
                PrefetchRow(ref Unsafe.Add(ref b0, prefetch), nr);
                PrefetchRow(ref Unsafe.Add(ref b1, prefetch), nr);
                PrefetchRow(ref Unsafe.Add(ref b2, prefetch), nr);
                PrefetchRow(ref Unsafe.Add(ref b3, prefetch), nr);
            }
            TVec av = TOps.Broadcast(Unsafe.Add(ref a, k));
            x0 = TOps.MultiplyAdd(av, TOps.Load(ref b0), x0); x1 = TOps.MultiplyAdd(av, TOps.Load(ref Unsafe.Add(ref b0, w)), x1);
            x2 = TOps.MultiplyAdd(av, TOps.Load(ref b1), x2); x3 = TOps.MultiplyAdd(av, TOps.Load(ref Unsafe.Add(ref b1, w)), x3);
            x4 = TOps.MultiplyAdd(av, TOps.Load(ref b2), x4); x5 = TOps.MultiplyAdd(av, TOps.Load(ref Unsafe.Add(ref b2, w)), x5);
            x6 = TOps.MultiplyAdd(av, TOps.Load(ref b3), x6); x7 = TOps.MultiplyAdd(av, TOps.Load(ref Unsafe.Add(ref b3, w)), x7);
            b0 = ref Unsafe.Add(ref b0, nr);
            b1 = ref Unsafe.Add(ref b1, nr);
            b2 = ref Unsafe.Add(ref b2, nr);
            b3 = ref Unsafe.Add(ref b3, nr);
        }

        Flush<TOps, TVec>(x0, ref c, load); Flush<TOps, TVec>(x1, ref Unsafe.Add(ref c, w), load);
        Flush<TOps, TVec>(x2, ref Unsafe.Add(ref c, nr), load); Flush<TOps, TVec>(x3, ref Unsafe.Add(ref c, nr + w), load);
        Flush<TOps, TVec>(x4, ref Unsafe.Add(ref c, 2 * nr), load); Flush<TOps, TVec>(x5, ref Unsafe.Add(ref c, 2 * nr + w), load);
        Flush<TOps, TVec>(x6, ref Unsafe.Add(ref c, 3 * nr), load); Flush<TOps, TVec>(x7, ref Unsafe.Add(ref c, 3 * nr + w), load);
    }

    // 1 row × 1 panel, for leftovers at the right edge: same FMA chain per element as every other kernel.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel1x1<TOps, TVec>(ref float a, ref float b, int kc, ref float c, bool load)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int w = TOps.Width, nr = 2 * w;
        TVec x0 = TOps.Zero, x1 = TOps.Zero;
        ref float bk = ref b;
        for (int k = 0; k < kc; k++)
        {
            TVec av = TOps.Broadcast(Unsafe.Add(ref a, k));
            x0 = TOps.MultiplyAdd(av, TOps.Load(ref bk), x0);
            x1 = TOps.MultiplyAdd(av, TOps.Load(ref Unsafe.Add(ref bk, w)), x1);
            bk = ref Unsafe.Add(ref bk, nr);
        }
        Flush<TOps, TVec>(x0, ref c, load);
        Flush<TOps, TVec>(x1, ref Unsafe.Add(ref c, w), load);
    }
}
