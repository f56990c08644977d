using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
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
        if (element.Size == 4)
        {
            // float32, the common case: read straight into the destination, no copy.
            ds.Read(MemoryMarshal.AsBytes(destination), fileSelection: selection);
            if (element.BigEndian) BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<float, int>(destination), MemoryMarshal.Cast<float, int>(destination));
            return;
        }
        var raw = ReadRaw(ds, element, selection, destination.Length);
        if (element.Size == 8)
        {
            var wide = MemoryMarshal.Cast<byte, long>(raw.AsSpan());
            if (element.BigEndian) BinaryPrimitives.ReverseEndianness(wide, wide);
            var doubles = MemoryMarshal.Cast<long, double>(wide);
            for (int i = 0; i < destination.Length; i++) destination[i] = (float)doubles[i]; // round to nearest
        }
        else
        {
            var half = MemoryMarshal.Cast<byte, short>(raw.AsSpan());
            if (element.BigEndian) BinaryPrimitives.ReverseEndianness(half, half);
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<short, Half>(half), destination);
        }
    }

    /// <summary>Reads the selected elements of any float or integer type as float64 (exact except for 64-bit integers beyond 2^53).</summary>
    public static void ReadDoubles(NativeDataset ds, Hdf5Element element, Selection? selection, Span<double> destination)
    {
        if (!element.IsFloat && !element.IsInteger) throw new InvalidOperationException($"{element.Describe()} is not numeric.");
        if (element.Class == 1 && element.Size == 8)
        {
            ds.Read(MemoryMarshal.AsBytes(destination), fileSelection: selection);
            if (element.BigEndian) BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<double, long>(destination), MemoryMarshal.Cast<double, long>(destination));
            return;
        }
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
