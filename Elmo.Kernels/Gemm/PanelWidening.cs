using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Elmo.Kernels.Gemm;

/// <summary>
/// Widens blocks of a bfloat16 or int8 <see cref="PackedMatrix"/> to float32 in the fp32 panel layout, for the GEMM
/// micro-kernels to read: a bfloat16 value is the upper half of its float32 (exact), an int8 value is
/// <c>(float)q · scale[column]</c> (one float32 product). Vectorised with AVX-512 or AVX2 where present, scalar
/// elsewhere; every way gives the same bits.
/// </summary>
internal static class PanelWidening
{
    /// <summary>
    /// Widens rows <paramref name="k0"/>…<paramref name="k0"/> + <paramref name="kc"/> − 1 of panels
    /// <paramref name="panel0"/>… (<paramref name="panels"/> of them) into <paramref name="destination"/>, panel after
    /// panel, each <c>kc × PanelWidth</c> floats, k-major (what the kernels read at a panel stride of <c>kc · PanelWidth</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Block(PackedMatrix b, int panel0, int panels, int k0, int kc, ref float destination)
    {
        int nr = b.PanelWidth;
        long count = (long)kc * nr;
        for (int q = 0; q < panels; q++)
        {
            long from = ((long)(panel0 + q) * b.Rows + k0) * nr;
            ref float to = ref Unsafe.Add(ref destination, (nint)(q * count));
            if (b.Precision == WeightPrecision.Bf16)
            {
                Bf16(ref b.Bf16Panels![from], ref to, count);
            }
            else
            {
                Int8(ref b.Int8Panels![from], ref b.Scales![(long)(panel0 + q) * nr], nr, ref to, kc);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Bf16(ref ushort source, ref float destination, long count)
    {
        long i = 0;
        if (Avx512F.IsSupported)
        {
            for (; i + 16 <= count; i += 16)
            {
                var wide = Avx512F.ConvertToVector512Int32(Vector256.LoadUnsafe(ref source, (nuint)i));
                Avx512F.ShiftLeftLogical(wide, 16).AsSingle().StoreUnsafe(ref destination, (nuint)i);
            }
        }
        else if (Avx2.IsSupported)
        {
            for (; i + 8 <= count; i += 8)
            {
                var wide = Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref source, (nuint)i));
                Avx2.ShiftLeftLogical(wide, 16).AsSingle().StoreUnsafe(ref destination, (nuint)i);
            }
        }
        for (; i < count; i++)
        {
            Unsafe.Add(ref destination, (nint)i) = BitConverter.UInt32BitsToSingle((uint)Unsafe.Add(ref source, (nint)i) << 16);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Int8(ref sbyte source, ref float scales, int nr, ref float destination, int kc)
    {
        if (Avx512F.IsSupported && nr % 16 == 0)
        {
            // One k-row of the panel (nr values) per pass: 16 at a time, each with its columns' scales.
            for (int k = 0; k < kc; k++)
            {
                nint row = (nint)k * nr;
                for (int j = 0; j < nr; j += 16)
                {
                    var q = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref Unsafe.Add(ref source, row + j))));
                    (q * Vector512.LoadUnsafe(ref Unsafe.Add(ref scales, j))).StoreUnsafe(ref Unsafe.Add(ref destination, row + j));
                }
            }
            return;
        }
        if (Avx2.IsSupported && nr % 8 == 0)
        {
            for (int k = 0; k < kc; k++)
            {
                nint row = (nint)k * nr;
                for (int j = 0; j < nr; j += 8)
                {
                    var bytes = Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref source, row + j)))).AsSByte();
                    var q = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(bytes));
                    (q * Vector256.LoadUnsafe(ref Unsafe.Add(ref scales, j))).StoreUnsafe(ref Unsafe.Add(ref destination, row + j));
                }
            }
            return;
        }
        for (int k = 0; k < kc; k++)
        {
            nint row = (nint)k * nr;
            for (int j = 0; j < nr; j++)
            {
                Unsafe.Add(ref destination, row + j) = Unsafe.Add(ref source, row + j) * Unsafe.Add(ref scales, j);
            }
        }
    }
}
