using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Elmo.Server;

/// <summary>
/// NumPy's <c>.npy</c> format, version 1.0: the magic <c>\x93NUMPY</c>, the version, a little-endian 16-bit header
/// length, a Python dict literal <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (…), }</c> padded with
/// spaces to a multiple of 64 bytes and ended by a newline, then the float32 values, little-endian, row-major.
/// <c>numpy.load</c> reads one array from a file object and leaves it just after, so arrays written one after
/// another are read back with repeated <c>numpy.load</c> calls.
/// </summary>
internal static class NpyWriter
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0];

    /// <summary>The header of one float32 array of this shape (row-major).</summary>
    /// <param name="shape">The shape.</param>
    /// <returns>Magic, version, header length and the padded dict: a multiple of 64 bytes.</returns>
    public static byte[] Header(IReadOnlyList<int> shape)
    {
        string dims = shape.Count == 1 ? $"{shape[0]}," : string.Join(", ", shape.Select(n => n.ToString(CultureInfo.InvariantCulture)));
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}";
        // Magic + version (8) + header length (2) + dict + padding + '\n', a multiple of 64.
        int headerLength = (8 + 2 + dict.Length + 1 + 63) / 64 * 64 - 10;
        var bytes = new byte[10 + headerLength];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)headerLength);
        var header = bytes.AsSpan(10, headerLength);
        header.Fill((byte)' ');
        Encoding.ASCII.GetBytes(dict, header);
        header[^1] = (byte)'\n';
        return bytes;
    }

    /// <summary>Writes float32 values little-endian.</summary>
    /// <param name="destination">Where to.</param>
    /// <param name="values">The values.</param>
    public static void WriteValues(IBufferWriter<byte> destination, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            destination.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        foreach (float v in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(destination.GetSpan(4), v);
            destination.Advance(4);
        }
    }

    /// <summary>The bytes of one array: header and values.</summary>
    /// <param name="shape">The shape.</param>
    /// <param name="values">The values, as many as the shape's product.</param>
    /// <returns>The <c>.npy</c> bytes.</returns>
    public static byte[] Write(IReadOnlyList<int> shape, ReadOnlySpan<float> values)
    {
        long count = shape.Aggregate(1L, (a, n) => a * n);
        if (count != values.Length) throw new ArgumentException($"The shape holds {count} values; {values.Length} were given.", nameof(values));
        var buffer = new ArrayBufferWriter<byte>();
        buffer.Write(Header(shape));
        WriteValues(buffer, values);
        return buffer.WrittenSpan.ToArray();
    }
}
