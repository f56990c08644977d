using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Elmo.Kernels;

/// <summary>Searches over float spans.</summary>
public static class FloatSearch
{
    /// <summary>The index of the first NaN or infinite value in <paramref name="values"/>, or −1 when all are finite.</summary>
    /// <param name="values">Values to scan.</param>
    /// <returns>An index, or −1.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        // A float is NaN or infinite exactly when its eight exponent bits are all set.
        const int Exponent = 0x7F800000;
        var bits = MemoryMarshal.Cast<float, int>(values);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var mask = Vector256.Create(Exponent);
            ref int b = ref MemoryMarshal.GetReference(bits);
            for (; i <= bits.Length - Vector256<int>.Count; i += Vector256<int>.Count)
            {
                if (Vector256.EqualsAny(Vector256.LoadUnsafe(ref b, (nuint)i) & mask, mask)) break;
            }
        }
        for (; i < bits.Length; i++)
        {
            if ((bits[i] & Exponent) == Exponent) return i;
        }
        return -1;
    }

    /// <summary>Scalar reference for <see cref="IndexOfNonFinite"/>.</summary>
    /// <param name="values">Values to scan.</param>
    /// <returns>An index, or −1.</returns>
    public static int IndexOfNonFiniteReference(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i])) return i;
        }
        return -1;
    }
}
