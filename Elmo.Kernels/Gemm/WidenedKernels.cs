using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Elmo.Kernels.Gemm;

/// <summary>
/// One row of A times four panels of a bfloat16 or int8 B, the values widened in registers inside the loop (no
/// buffer): batch 1, where every weight is read once per step and the product is bound by memory, so reading half or
/// a quarter of the bytes is the gain. Called on one accumulation block (<c>Gemm.SumBlock</c>) at a time: each element
/// of C is the float32 kernels' FMA chain from zero over the block's k in order, added to C at the end, on the same
/// widened values (a bfloat16 is the top half of its float32; an int8 value is <c>(float)q · scale</c>, one
/// rounding), so the results are the bits of the buffered route and of every other path.
/// </summary>
internal static class WidenedKernels
{
    /// <summary>Whether <see cref="Row1x4(ref float, PackedMatrix, int, int, int, ref float, bool, long)"/> runs for matrices of <paramref name="b"/>'s path and precision on this machine.</summary>
    public static bool Supported(PackedMatrix b) => b.Path switch
    {
        KernelPath.Vector512 => Avx512F.IsSupported,
        KernelPath.Vector256 => Avx2.IsSupported && Fma.IsSupported && b.Precision == WeightPrecision.Bf16,
        _ => false,
    };

    /// <summary>
    /// <c>C[0, p·nr … (p + 4)·nr) (+)= a[0 … kc) · B[k0 … k0 + kc, the four panels from p]</c>; prefetches the next four
    /// panels' rows at the same depth when <paramref name="prefetchNext"/>.
    /// </summary>
    public static void Row1x4(ref float a, PackedMatrix b, int p, int k0, int kc, ref float c, bool load, bool prefetchNext)
        => Row1x4(ref a, b, p, k0, kc, ref c, load, prefetchNext ? 4L * b.Rows * b.PanelWidth : 0);

    /// <summary>
    /// As <see cref="Row1x4(ref float, PackedMatrix, int, int, int, ref float, bool, bool)"/>, each panel's k-rows
    /// prefetched <paramref name="ahead"/> values further on (0: none): the next panels' rows at the same depth
    /// (4 · K · PanelWidth), or a short distance ahead in the panel's own stream when the row sweeps each panel over
    /// all of K (<see cref="GemvKernels"/>).
    /// </summary>
    public static void Row1x4(ref float a, PackedMatrix b, int p, int k0, int kc, ref float c, bool load, long ahead)
    {
        if (b.Path == KernelPath.Vector512)
        {
            if (b.Precision == WeightPrecision.Bf16) Bf16x512(ref a, b, p, k0, kc, ref c, load, ahead);
            else Int8x512(ref a, b, p, k0, kc, ref c, load, ahead);
        }
        else
        {
            Bf16x256(ref a, b, p, k0, kc, ref c, load, ahead);
        }
    }

    // 8 zmm accumulators + 1 broadcast + 2 widened = 11 of 32 registers. A k-row of a bf16 panel is 64 bytes: one line.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Bf16x512(ref float a, PackedMatrix b, int p, int k0, int kc, ref float c, bool load, long ahead)
    {
        const int nr = 32;
        long stride = (long)b.Rows * nr;
        fixed (ushort* panels = b.Bf16Panels)
        {
            ushort* b0 = panels + p * stride + (long)k0 * nr, b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
            Vector512<float> x0, x1, x2, x3, x4, x5, x6, x7;
            x0 = x1 = x2 = x3 = x4 = x5 = x6 = x7 = Vector512<float>.Zero;
            for (int k = 0; k < kc; k++)
            {
                if (ahead != 0)
                {
                    Sse.Prefetch0(b0 + ahead); Sse.Prefetch0(b1 + ahead); Sse.Prefetch0(b2 + ahead); Sse.Prefetch0(b3 + ahead);
                }
                var av = Vector512.Create(Unsafe.Add(ref a, k));
                x0 = Vector512.FusedMultiplyAdd(av, Bf16(b0), x0); x1 = Vector512.FusedMultiplyAdd(av, Bf16(b0 + 16), x1);
                x2 = Vector512.FusedMultiplyAdd(av, Bf16(b1), x2); x3 = Vector512.FusedMultiplyAdd(av, Bf16(b1 + 16), x3);
                x4 = Vector512.FusedMultiplyAdd(av, Bf16(b2), x4); x5 = Vector512.FusedMultiplyAdd(av, Bf16(b2 + 16), x5);
                x6 = Vector512.FusedMultiplyAdd(av, Bf16(b3), x6); x7 = Vector512.FusedMultiplyAdd(av, Bf16(b3 + 16), x7);
                b0 += nr; b1 += nr; b2 += nr; b3 += nr;
            }
            Flush(x0, ref c, 0, load); Flush(x1, ref c, 16, load); Flush(x2, ref c, 32, load); Flush(x3, ref c, 48, load);
            Flush(x4, ref c, 64, load); Flush(x5, ref c, 80, load); Flush(x6, ref c, 96, load); Flush(x7, ref c, 112, load);
        }
    }

    /// <summary>Ends one accumulation block (as <c>Gemm.Flush</c>): the block's sums added to C, or stored when C is overwritten.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Flush(Vector512<float> x, ref float c, nuint at, bool load) => (load ? Vector512.LoadUnsafe(ref c, at) + x : x).StoreUnsafe(ref c, at);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Flush(Vector256<float> x, ref float c, nuint at, bool load) => (load ? Vector256.LoadUnsafe(ref c, at) + x : x).StoreUnsafe(ref c, at);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<float> Bf16(ushort* at) => Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Avx.LoadVector256(at)), 16).AsSingle();

    // 8 accumulators + 8 column scales (two per panel) + 1 broadcast + 2 widened = 19 of 32 zmm registers.
    // A k-row of an int8 panel is 32 bytes: half a line, so the next panels are prefetched every other k.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Int8x512(ref float a, PackedMatrix b, int p, int k0, int kc, ref float c, bool load, long ahead)
    {
        const int nr = 32;
        long stride = (long)b.Rows * nr;
        fixed (sbyte* panels = b.Int8Panels)
        fixed (float* scales = b.Scales)
        {
            sbyte* b0 = panels + p * stride + (long)k0 * nr, b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
            float* s = scales + (long)p * nr;
            var s0 = Vector512.Load(s); var s1 = Vector512.Load(s + 16); var s2 = Vector512.Load(s + 32); var s3 = Vector512.Load(s + 48);
            var s4 = Vector512.Load(s + 64); var s5 = Vector512.Load(s + 80); var s6 = Vector512.Load(s + 96); var s7 = Vector512.Load(s + 112);
            Vector512<float> x0, x1, x2, x3, x4, x5, x6, x7;
            x0 = x1 = x2 = x3 = x4 = x5 = x6 = x7 = Vector512<float>.Zero;
            for (int k = 0; k < kc; k++)
            {
                if (ahead != 0 && (k & 1) == 0)
                {
                    Sse.Prefetch0(b0 + ahead); Sse.Prefetch0(b1 + ahead); Sse.Prefetch0(b2 + ahead); Sse.Prefetch0(b3 + ahead);
                }
                var av = Vector512.Create(Unsafe.Add(ref a, k));
                x0 = Vector512.FusedMultiplyAdd(av, Int8(b0) * s0, x0); x1 = Vector512.FusedMultiplyAdd(av, Int8(b0 + 16) * s1, x1);
                x2 = Vector512.FusedMultiplyAdd(av, Int8(b1) * s2, x2); x3 = Vector512.FusedMultiplyAdd(av, Int8(b1 + 16) * s3, x3);
                x4 = Vector512.FusedMultiplyAdd(av, Int8(b2) * s4, x4); x5 = Vector512.FusedMultiplyAdd(av, Int8(b2 + 16) * s5, x5);
                x6 = Vector512.FusedMultiplyAdd(av, Int8(b3) * s6, x6); x7 = Vector512.FusedMultiplyAdd(av, Int8(b3 + 16) * s7, x7);
                b0 += nr; b1 += nr; b2 += nr; b3 += nr;
            }
            Flush(x0, ref c, 0, load); Flush(x1, ref c, 16, load); Flush(x2, ref c, 32, load); Flush(x3, ref c, 48, load);
            Flush(x4, ref c, 64, load); Flush(x5, ref c, 80, load); Flush(x6, ref c, 96, load); Flush(x7, ref c, 112, load);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<float> Int8(sbyte* at) => Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(at)));

    // 8 ymm accumulators + 1 broadcast + 2 widened = 11 of 16 registers. A k-row of a bf16 panel is 32 bytes.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Bf16x256(ref float a, PackedMatrix b, int p, int k0, int kc, ref float c, bool load, long ahead)
    {
        const int nr = 16;
        long stride = (long)b.Rows * nr;
        fixed (ushort* panels = b.Bf16Panels)
        {
            ushort* b0 = panels + p * stride + (long)k0 * nr, b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
            Vector256<float> x0, x1, x2, x3, x4, x5, x6, x7;
            x0 = x1 = x2 = x3 = x4 = x5 = x6 = x7 = Vector256<float>.Zero;
            for (int k = 0; k < kc; k++)
            {
                if (ahead != 0 && (k & 1) == 0)
                {
                    Sse.Prefetch0(b0 + ahead); Sse.Prefetch0(b1 + ahead); Sse.Prefetch0(b2 + ahead); Sse.Prefetch0(b3 + ahead);
                }
                var av = Vector256.Create(Unsafe.Add(ref a, k));
                x0 = Vector256.FusedMultiplyAdd(av, Bf16Ymm(b0), x0); x1 = Vector256.FusedMultiplyAdd(av, Bf16Ymm(b0 + 8), x1);
                x2 = Vector256.FusedMultiplyAdd(av, Bf16Ymm(b1), x2); x3 = Vector256.FusedMultiplyAdd(av, Bf16Ymm(b1 + 8), x3);
                x4 = Vector256.FusedMultiplyAdd(av, Bf16Ymm(b2), x4); x5 = Vector256.FusedMultiplyAdd(av, Bf16Ymm(b2 + 8), x5);
                x6 = Vector256.FusedMultiplyAdd(av, Bf16Ymm(b3), x6); x7 = Vector256.FusedMultiplyAdd(av, Bf16Ymm(b3 + 8), x7);
                b0 += nr; b1 += nr; b2 += nr; b3 += nr;
            }
            Flush(x0, ref c, 0, load); Flush(x1, ref c, 8, load); Flush(x2, ref c, 16, load); Flush(x3, ref c, 24, load);
            Flush(x4, ref c, 32, load); Flush(x5, ref c, 40, load); Flush(x6, ref c, 48, load); Flush(x7, ref c, 56, load);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<float> Bf16Ymm(ushort* at) => Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(Sse2.LoadVector128(at)), 16).AsSingle();
}
