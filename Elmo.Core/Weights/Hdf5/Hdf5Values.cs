using System.Buffers.Binary;
using PureHDF.Selections;
using PureHDF.VOL.Native;

namespace Elmo.Core;

/// <summary>
/// Reads numeric datasets as raw bytes through PureHDF (which applies the filters and the selection) and converts
/// them here by the element type <see cref="Hdf5Scan"/> parsed: IEEE floats of 2, 4 or 8 bytes and integers of 1, 2,
/// 4 or 8 bytes, in either byte order (PureHDF 2.2.0 refuses big-endian data).
/// </summary>
internal static class Hdf5Values
{
    /// <summary>
    /// Reads the selected elements as float32: float64 rounded to nearest, float16 widened exactly. Only floats are
    /// accepted (<see cref="Hdf5Element.IsFloat"/>).
    /// </summary>
    public static void ReadFloats(NativeDataset ds, Hdf5Element element, Selection? selection, Span<float> destination)
    {
        if (!element.IsFloat) throw new InvalidOperationException($"{element.Describe()} is not a float type.");
        var raw = ReadRaw(ds, element, selection, destination.Length);
        int size = element.Size;
        bool swap = element.BigEndian;
        for (int i = 0; i < destination.Length; i++)
        {
            var b = raw.AsSpan(i * size, size);
            destination[i] = size switch
            {
                4 => BitConverter.Int32BitsToSingle(swap ? BinaryPrimitives.ReadInt32BigEndian(b) : BinaryPrimitives.ReadInt32LittleEndian(b)),
                8 => (float)BitConverter.Int64BitsToDouble(swap ? BinaryPrimitives.ReadInt64BigEndian(b) : BinaryPrimitives.ReadInt64LittleEndian(b)),
                _ => (float)BitConverter.Int16BitsToHalf(swap ? BinaryPrimitives.ReadInt16BigEndian(b) : BinaryPrimitives.ReadInt16LittleEndian(b)),
            };
        }
    }

    /// <summary>Reads the selected elements of any float or integer type as float64 (exact except for 64-bit integers beyond 2^53).</summary>
    public static void ReadDoubles(NativeDataset ds, Hdf5Element element, Selection? selection, Span<double> destination)
    {
        if (!element.IsFloat && !element.IsInteger) throw new InvalidOperationException($"{element.Describe()} is not numeric.");
        var raw = ReadRaw(ds, element, selection, destination.Length);
        int size = element.Size;
        for (int i = 0; i < destination.Length; i++)
        {
            Span<byte> b = raw.AsSpan(i * size, size);
            if (element.BigEndian) b.Reverse();
            destination[i] = (element.Class, size, element.Signed) switch
            {
                (1, 2, _) => (double)BitConverter.Int16BitsToHalf(BinaryPrimitives.ReadInt16LittleEndian(b)),
                (1, 4, _) => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(b)),
                (1, _, _) => BitConverter.Int64BitsToDouble(BinaryPrimitives.ReadInt64LittleEndian(b)),
                (_, 1, true) => (sbyte)b[0],
                (_, 1, false) => b[0],
                (_, 2, true) => BinaryPrimitives.ReadInt16LittleEndian(b),
                (_, 2, false) => BinaryPrimitives.ReadUInt16LittleEndian(b),
                (_, 4, true) => BinaryPrimitives.ReadInt32LittleEndian(b),
                (_, 4, false) => BinaryPrimitives.ReadUInt32LittleEndian(b),
                (_, _, true) => BinaryPrimitives.ReadInt64LittleEndian(b),
                _ => BinaryPrimitives.ReadUInt64LittleEndian(b),
            };
        }
    }

    private static byte[] ReadRaw(NativeDataset ds, Hdf5Element element, Selection? selection, int count)
    {
        var raw = new byte[checked((long)count * element.Size)];
        ds.Read(raw.AsSpan(), fileSelection: selection);
        return raw;
    }
}
