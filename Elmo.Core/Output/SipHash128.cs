using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Elmo.Core;

/// <summary>
/// SipHash-2-4 with a 128-bit result, over bytes appended in pieces. With a fixed key it names content (an input's
/// fingerprint, the same on every machine); its 128 bits make an accidental collision between two sentences of even
/// a 10⁹-sentence corpus a chance of about 10⁻²¹, so sentences can be told apart by hash without holding their text.
/// </summary>
internal struct SipHash128
{
    private ulong _v0, _v1, _v2, _v3;
    private ulong _tail;
    private int _tailBytes;
    private long _length;

    /// <summary>Starts a hash with the given 128-bit key.</summary>
    /// <param name="k0">Low half of the key.</param>
    /// <param name="k1">High half of the key.</param>
    public SipHash128(ulong k0, ulong k1)
    {
        _v0 = k0 ^ 0x736f6d6570736575;
        _v1 = k1 ^ 0x646f72616e646f6d ^ 0xee;
        _v2 = k0 ^ 0x6c7967656e657261;
        _v3 = k1 ^ 0x7465646279746573;
    }

    /// <summary>A hash with the project's fixed key (the bytes of "elmo-fingerprint").</summary>
    public static SipHash128 Create() => new(0x6e69662d6f6d6c65, 0x746e697270726567);

    /// <summary>Bytes appended so far.</summary>
    public readonly long Length => _length;

    /// <summary>The hash of <paramref name="data"/> with the fixed key.</summary>
    /// <param name="data">The bytes.</param>
    /// <returns>128 bits.</returns>
    public static UInt128 Hash(ReadOnlySpan<byte> data)
    {
        var h = Create();
        h.Append(data);
        return h.Finish();
    }

    /// <summary>The hash of the UTF-16 code units of <paramref name="text"/> (lone surrogates and all) with the fixed key.</summary>
    /// <param name="text">The text.</param>
    /// <returns>128 bits.</returns>
    public static UInt128 Hash(ReadOnlySpan<char> text) => Hash(MemoryMarshal.AsBytes(text));

    /// <summary>Appends bytes.</summary>
    /// <param name="data">The bytes.</param>
    public void Append(ReadOnlySpan<byte> data)
    {
        _length += data.Length;
        while (_tailBytes != 0 && data.Length > 0)
        {
            _tail |= (ulong)data[0] << (8 * _tailBytes);
            data = data[1..];
            if (++_tailBytes == 8)
            {
                Compress(_tail);
                _tail = 0;
                _tailBytes = 0;
            }
        }
        ulong v0 = _v0, v1 = _v1, v2 = _v2, v3 = _v3;
        while (data.Length >= 8)
        {
            ulong m = BinaryPrimitives.ReadUInt64LittleEndian(data);
            v3 ^= m;
            Round(ref v0, ref v1, ref v2, ref v3);
            Round(ref v0, ref v1, ref v2, ref v3);
            v0 ^= m;
            data = data[8..];
        }
        (_v0, _v1, _v2, _v3) = (v0, v1, v2, v3);
        foreach (byte b in data) _tail |= (ulong)b << (8 * _tailBytes++);
    }

    /// <summary>Appends a 64-bit number (little-endian).</summary>
    /// <param name="value">The number.</param>
    public void Append(long value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        Append(bytes);
    }

    /// <summary>Appends the UTF-16 code units of <paramref name="text"/>, after its length (so that concatenations differ).</summary>
    /// <param name="text">The text.</param>
    public void Append(string text)
    {
        Append(text.Length);
        Append(MemoryMarshal.AsBytes(text.AsSpan()));
    }

    /// <summary>The hash of everything appended (the state is not changed).</summary>
    /// <returns>128 bits.</returns>
    public readonly UInt128 Finish()
    {
        ulong v0 = _v0, v1 = _v1, v2 = _v2, v3 = _v3;
        ulong b = ((ulong)_length << 56) | _tail;
        v3 ^= b;
        Round(ref v0, ref v1, ref v2, ref v3);
        Round(ref v0, ref v1, ref v2, ref v3);
        v0 ^= b;
        v2 ^= 0xee;
        for (int i = 0; i < 4; i++) Round(ref v0, ref v1, ref v2, ref v3);
        ulong low = v0 ^ v1 ^ v2 ^ v3;
        v1 ^= 0xdd;
        for (int i = 0; i < 4; i++) Round(ref v0, ref v1, ref v2, ref v3);
        ulong high = v0 ^ v1 ^ v2 ^ v3;
        return new UInt128(high, low);
    }

    private void Compress(ulong m)
    {
        _v3 ^= m;
        Round(ref _v0, ref _v1, ref _v2, ref _v3);
        Round(ref _v0, ref _v1, ref _v2, ref _v3);
        _v0 ^= m;
    }

    private static void Round(ref ulong v0, ref ulong v1, ref ulong v2, ref ulong v3)
    {
        v0 += v1;
        v1 = BitOperations.RotateLeft(v1, 13);
        v1 ^= v0;
        v0 = BitOperations.RotateLeft(v0, 32);
        v2 += v3;
        v3 = BitOperations.RotateLeft(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = BitOperations.RotateLeft(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = BitOperations.RotateLeft(v1, 17);
        v1 ^= v2;
        v2 = BitOperations.RotateLeft(v2, 32);
    }
}
