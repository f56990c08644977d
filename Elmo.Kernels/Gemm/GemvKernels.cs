using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Elmo.Kernels.Simd;

namespace Elmo.Kernels.Gemm;

/// <summary>
/// One row of A times a float32 packed B (<c>1 × K × N</c>: every product at batch 1, and the last row still running
/// in a batch): pure streaming, each weight used once, so the speed is the rate at which B comes from memory. Four
/// panels are read side by side, each from its first k to its last (four sequential streams through memory, which
/// the hardware prefetchers follow), and each stream also prefetches its own k-rows <see cref="PrefetchBytes"/>
/// ahead, so that enough cache lines are in flight for one core to read at the machine's rate.
/// </summary>
/// <remarks>
/// <para>The accumulation order is <see cref="Gemm"/>'s (see its remarks): K in blocks of <see cref="Gemm.SumBlock"/>
/// from k = 0, each element of C one FMA chain from zero over a block's k in order, the block sums added to C in order
/// (the first stored as it is when C is overwritten). A row gives the same bits here as inside a batch of any size, on
/// every path and for any split of the panels between threads.</para>
/// <para>Measured on a Zen 5 core (AVX-512, 1×512×16384 and 1×4096×512 with B cycled through 256 MB of distinct
/// matrices, medians of 21 alternated runs): four streams over all of K with 1 KiB of prefetch read 24–29 GB/s where
/// the block-by-block tail kernel (four panels per 256-deep cache block, then the next block) read 19–25; one or two
/// streams, or eight, and prefetch distances of 0, 512 or 2,048–8,192 bytes, were slower (docs/performance.md).</para>
/// </remarks>
internal static class GemvKernels
{
    /// <summary>Bytes ahead of the current k-row that each stream prefetches (8 rows of a 32-float AVX-512 panel).</summary>
    internal const int PrefetchBytes = 1024;

    /// <summary>Panels read side by side (streams).</summary>
    private const int Streams = 4;

    /// <summary><c>C[0, panel0·nr … min(panel1·nr, N)) (+)= a[0 … K) · B[·, those columns]</c> for a float32 <paramref name="b"/>, on its path.</summary>
    public static void Row(ref float a, PackedMatrix b, ref float c, bool accumulate, int panel0, int panel1)
    {
        switch (b.Path)
        {
            case KernelPath.Vector512:
                Row<Vector512Ops, Vector512<float>>(ref a, b, ref c, accumulate, panel0, panel1);
                break;
            case KernelPath.Vector256:
                Row<Vector256Ops, Vector256<float>>(ref a, b, ref c, accumulate, panel0, panel1);
                break;
            case KernelPath.Vector128:
                Row<Vector128Ops, Vector128<float>>(ref a, b, ref c, accumulate, panel0, panel1);
                break;
            default:
                Row<ScalarOps, float>(ref a, b, ref c, accumulate, panel0, panel1);
                break;
        }
    }

    /// <summary>
    /// The same streaming for a bfloat16 or int8 <paramref name="b"/> where <see cref="WidenedKernels"/> widens it in
    /// registers: groups of four full panels, each over all of K, prefetched <see cref="PrefetchBytes"/> ahead in its own
    /// stream. Returns the first panel it left (fewer than four, or the zero-padded one) for the buffered route.
    /// </summary>
    public static int RowWidened(ref float a, PackedMatrix b, ref float c, bool accumulate, int panel0, int panel1)
    {
        if (b.Precision == WeightPrecision.Fp32 || !WidenedKernels.Supported(b)) return panel0;
        int k = b.Rows, nr = b.PanelWidth;
        int fullPanels = Math.Min(panel1, b.Columns / nr);
        long ahead = PrefetchBytes / (b.Precision == WeightPrecision.Bf16 ? sizeof(ushort) : sizeof(sbyte));
        int p = panel0;
        for (; p + Streams <= fullPanels; p += Streams)
        {
            for (int s0 = 0; s0 < k; s0 += Gemm.SumBlock)
            {
                WidenedKernels.Row1x4(ref Unsafe.Add(ref a, s0), b, p, s0, Math.Min(Gemm.SumBlock, k - s0), ref Unsafe.Add(ref c, p * nr), accumulate || s0 > 0, ahead);
            }
        }
        return p;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Row<TOps, TVec>(ref float a, PackedMatrix b, ref float c, bool accumulate, int panel0, int panel1)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int k = b.Rows, n = b.Columns, nr = b.PanelWidth;
        int fullPanels = Math.Min(panel1, n / nr); // panels without zero padding
        nint panelStride = (nint)k * nr;
        nint ahead = PrefetchBytes / sizeof(float);
        Span<float> edgeTile = stackalloc float[32];
        // Pinned, so that the prefetch addresses (which run past the last panel) are plain pointers, never references.
        fixed (float* panels = b.Panels)
        {
            int p = panel0;
            for (; p + Streams <= fullPanels; p += Streams)
            {
                float* bp = panels + p * panelStride;
                for (int s0 = 0; s0 < k; s0 += Gemm.SumBlock)
                {
                    Block4<TOps, TVec>(ref Unsafe.Add(ref a, s0), bp + (nint)s0 * nr, panelStride, Math.Min(Gemm.SumBlock, k - s0), ref Unsafe.Add(ref c, p * nr), accumulate || s0 > 0, ahead);
                }
            }

            // The last panels (fewer than four, or the zero-padded one), one at a time.
            for (; p < panel1; p++)
            {
                float* bp = panels + p * panelStride;
                int nc = Math.Min(nr, n - p * nr);
                bool edge = nc < nr;
                ref float cq = ref Unsafe.Add(ref c, p * nr);
                ref float tile = ref MemoryMarshal.GetReference(edgeTile);
                ref float cp = ref edge ? ref tile : ref cq;
                // The zero-padded last panel: a full-width scratch tile, the valid columns copied in (when added to) and out.
                if (edge) Gemm.EdgeIn(ref cq, nr, ref tile, nr, 1, nc, accumulate);
                for (int s0 = 0; s0 < k; s0 += Gemm.SumBlock)
                {
                    Block1<TOps, TVec>(ref Unsafe.Add(ref a, s0), bp + (nint)s0 * nr, Math.Min(Gemm.SumBlock, k - s0), ref cp, accumulate || s0 > 0, ahead);
                }
                if (edge) Gemm.EdgeOut(ref tile, nr, ref cq, nr, 1, nc);
            }
        }
    }

    // 1 row × 4 panels over one accumulation block: 8 accumulators + 1 broadcast, B folded into the FMAs
    // (9 of 32 zmm / 16 ymm registers). Each panel's k-row is prefetched `ahead` floats in advance in its own stream.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Block4<TOps, TVec>(ref float a, float* b, nint panelStride, int kc, ref float c, bool load, nint ahead)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int w = TOps.Width, nr = 2 * w;
        int every = Math.Max(1, Prefetch.LineFloats / nr); // rows per prefetch: one per cache line (a JIT-time constant)
        TVec x0 = TOps.Zero, x1 = TOps.Zero, x2 = TOps.Zero, x3 = TOps.Zero, x4 = TOps.Zero, x5 = TOps.Zero, x6 = TOps.Zero, x7 = TOps.Zero;
        float* b0 = b, b1 = b + panelStride, b2 = b1 + panelStride, b3 = b2 + panelStride;
        for (int k = 0; k < kc; k++)
        {
            if (k % every == 0)
            {
                Prefetch.Line(b0 + ahead); Prefetch.Line(b1 + ahead); Prefetch.Line(b2 + ahead); Prefetch.Line(b3 + ahead);
                if (nr > Prefetch.LineFloats)
                {
                    Prefetch.Line(b0 + ahead + Prefetch.LineFloats); Prefetch.Line(b1 + ahead + Prefetch.LineFloats);
                    Prefetch.Line(b2 + ahead + Prefetch.LineFloats); Prefetch.Line(b3 + ahead + Prefetch.LineFloats);
                }
            }
            TVec av = TOps.Broadcast(Unsafe.Add(ref a, k));
            x0 = TOps.MultiplyAdd(av, TOps.Load(ref *b0), x0); x1 = TOps.MultiplyAdd(av, TOps.Load(ref *(b0 + w)), x1);
            x2 = TOps.MultiplyAdd(av, TOps.Load(ref *b1), x2); x3 = TOps.MultiplyAdd(av, TOps.Load(ref *(b1 + w)), x3);
            x4 = TOps.MultiplyAdd(av, TOps.Load(ref *b2), x4); x5 = TOps.MultiplyAdd(av, TOps.Load(ref *(b2 + w)), x5);
            x6 = TOps.MultiplyAdd(av, TOps.Load(ref *b3), x6); x7 = TOps.MultiplyAdd(av, TOps.Load(ref *(b3 + w)), x7);
            b0 += nr; b1 += nr; b2 += nr; b3 += nr;
        }
        Gemm.Flush<TOps, TVec>(x0, ref c, load); Gemm.Flush<TOps, TVec>(x1, ref Unsafe.Add(ref c, w), load);
        Gemm.Flush<TOps, TVec>(x2, ref Unsafe.Add(ref c, nr), load); Gemm.Flush<TOps, TVec>(x3, ref Unsafe.Add(ref c, nr + w), load);
        Gemm.Flush<TOps, TVec>(x4, ref Unsafe.Add(ref c, 2 * nr), load); Gemm.Flush<TOps, TVec>(x5, ref Unsafe.Add(ref c, 2 * nr + w), load);
        Gemm.Flush<TOps, TVec>(x6, ref Unsafe.Add(ref c, 3 * nr), load); Gemm.Flush<TOps, TVec>(x7, ref Unsafe.Add(ref c, 3 * nr + w), load);
    }

    // 1 row × 1 panel over one accumulation block: 2 accumulators + 1 broadcast.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Block1<TOps, TVec>(ref float a, float* b, int kc, ref float c, bool load, nint ahead)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int w = TOps.Width, nr = 2 * w;
        int every = Math.Max(1, Prefetch.LineFloats / nr);
        TVec x0 = TOps.Zero, x1 = TOps.Zero;
        float* bk = b;
        for (int k = 0; k < kc; k++)
        {
            if (k % every == 0)
            {
                Prefetch.Line(bk + ahead);
                if (nr > Prefetch.LineFloats) Prefetch.Line(bk + ahead + Prefetch.LineFloats);
            }
            TVec av = TOps.Broadcast(Unsafe.Add(ref a, k));
            x0 = TOps.MultiplyAdd(av, TOps.Load(ref *bk), x0);
            x1 = TOps.MultiplyAdd(av, TOps.Load(ref *(bk + w)), x1);
            bk += nr;
        }
        Gemm.Flush<TOps, TVec>(x0, ref c, load);
        Gemm.Flush<TOps, TVec>(x1, ref Unsafe.Add(ref c, w), load);
    }
}
