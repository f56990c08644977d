using System.Numerics;

namespace Elmo.Core;

/// <summary>
/// Bob Jenkins' lookup3 <c>hashlittle</c>, as HDF5 uses it (<c>H5_checksum_lookup3</c>, initial value 0) for the
/// checksums of its version-2 metadata: superblocks v2/v3, object headers v2, B-tree v2 nodes, fractal heap blocks,
/// fixed and extensible array blocks.
/// </summary>
internal static class Lookup3
{
    /// <summary>The checksum of <paramref name="data"/>.</summary>
    public static uint Hash(ReadOnlySpan<byte> data)
    {
        uint a, b, c;
        a = b = c = 0xdeadbeef + (uint)data.Length;
        var k = data;
        while (k.Length > 12)
        {
            a += k[0] | ((uint)k[1] << 8) | ((uint)k[2] << 16) | ((uint)k[3] << 24);
            b += k[4] | ((uint)k[5] << 8) | ((uint)k[6] << 16) | ((uint)k[7] << 24);
            c += k[8] | ((uint)k[9] << 8) | ((uint)k[10] << 16) | ((uint)k[11] << 24);
            Mix(ref a, ref b, ref c);
            k = k[12..];
        }
        if (k.Length == 0) return c;
        Span<byte> last = stackalloc byte[12];
        last.Clear();
        k.CopyTo(last);
        a += last[0] | ((uint)last[1] << 8) | ((uint)last[2] << 16) | ((uint)last[3] << 24);
        b += last[4] | ((uint)last[5] << 8) | ((uint)last[6] << 16) | ((uint)last[7] << 24);
        c += last[8] | ((uint)last[9] << 8) | ((uint)last[10] << 16) | ((uint)last[11] << 24);
        Final(ref a, ref b, ref c);
        return c;
    }

    private static void Mix(ref uint a, ref uint b, ref uint c)
    {
        a -= c; a ^= BitOperations.RotateLeft(c, 4); c += b;
        b -= a; b ^= BitOperations.RotateLeft(a, 6); a += c;
        c -= b; c ^= BitOperations.RotateLeft(b, 8); b += a;
        a -= c; a ^= BitOperations.RotateLeft(c, 16); c += b;
        b -= a; b ^= BitOperations.RotateLeft(a, 19); a += c;
        c -= b; c ^= BitOperations.RotateLeft(b, 4); b += a;
    }

    private static void Final(ref uint a, ref uint b, ref uint c)
    {
        c ^= b; c -= BitOperations.RotateLeft(b, 14);
        a ^= c; a -= BitOperations.RotateLeft(c, 11);
        b ^= a; b -= BitOperations.RotateLeft(a, 25);
        c ^= b; c -= BitOperations.RotateLeft(b, 16);
        a ^= c; a -= BitOperations.RotateLeft(c, 4);
        b ^= a; b -= BitOperations.RotateLeft(a, 14);
        c ^= b; c -= BitOperations.RotateLeft(b, 24);
    }
}
