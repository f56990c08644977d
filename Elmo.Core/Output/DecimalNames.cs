using System.Globalization;

namespace Elmo.Core;

/// <summary>
/// The dataset names <c>"0"…"n−1"</c> without holding them: where each lies in a local heap that stores them in
/// index order, and the indices in the byte order of their names (the order a symbol-table group keeps its links
/// in: <c>"0" &lt; "1" &lt; "10" &lt; "100" &lt; "11" &lt; … &lt; "2"</c>).
/// </summary>
internal static class DecimalNames
{
    /// <summary>Bytes the names of <c>0…x−1</c> take in a local heap (each NUL-terminated and padded to 8).</summary>
    /// <param name="x">A count.</param>
    /// <returns>Bytes.</returns>
    public static long HeapBytesBelow(long x)
    {
        long total = 0, low = 0, high = 10;
        for (int digits = 1; low < x; digits++, low = high, high = high > long.MaxValue / 10 ? long.MaxValue : high * 10)
        {
            total += (Math.Min(x, high) - low) * Hdf5Format.HeapNameSize(digits);
        }
        return total;
    }

    /// <summary>Digits of <paramref name="i"/> in decimal.</summary>
    /// <param name="i">A non-negative number.</param>
    /// <returns>1 for 0…9, 2 for 10…99, ….</returns>
    public static int Digits(long i)
    {
        int digits = 1;
        while (i >= 10)
        {
            i /= 10;
            digits++;
        }
        return digits;
    }

    /// <summary>The name of index <paramref name="i"/>.</summary>
    /// <param name="i">The index.</param>
    /// <returns>Its decimal text.</returns>
    public static string Name(long i) => i.ToString(CultureInfo.InvariantCulture);

    /// <summary>The numbers <paramref name="first"/> … <paramref name="end"/> − 1 in the byte order of their decimal names.</summary>
    /// <param name="first">The first number.</param>
    /// <param name="end">One past the last.</param>
    /// <returns>The numbers, each once; numbers below <paramref name="first"/> are walked past, not returned.</returns>
    public static IEnumerable<long> InNameOrder(long first, long end)
    {
        if (end <= first) yield break;
        long max = end - 1;
        // Pre-order walk of the decimal trie: "0", then 1, 10, 100, ..., 11, ..., 2, ...
        if (first == 0) yield return 0;
        long current = 1;
        while (current <= max)
        {
            if (current >= first) yield return current;
            if (current <= max / 10)
            {
                current *= 10;
                continue;
            }
            while (current % 10 == 9 || current + 1 > max) current /= 10;
            if (current == 0) yield break;
            current++;
        }
    }
}
