namespace Elmo.Core;

/// <summary>The element type of an HDF5 dataset, as its datatype message declares it.</summary>
/// <param name="Class">The HDF5 datatype class (0 fixed-point, 1 floating-point, 3 string, 9 variable-length, …).</param>
/// <param name="Size">Bytes per element.</param>
/// <param name="BigEndian">Whether the bytes are stored most significant first.</param>
/// <param name="Signed">For integers: two's complement.</param>
/// <param name="IeeeLayout">For floats: the standard IEEE 754 binary16/32/64 bit layout (sign, exponent, mantissa, bias).</param>
internal sealed record Hdf5Element(int Class, int Size, bool BigEndian, bool Signed, bool IeeeLayout)
{
    /// <summary>An IEEE float of 2, 4 or 8 bytes, in either byte order.</summary>
    public bool IsFloat => Class == 1 && IeeeLayout && Size is 2 or 4 or 8;

    /// <summary>An integer of 1, 2, 4 or 8 bytes, in either byte order.</summary>
    public bool IsInteger => Class == 0 && Size is 1 or 2 or 4 or 8;

    /// <summary>Short name: <c>float32</c>, <c>int16 (big-endian)</c>, <c>string</c>, ….</summary>
    public string Describe()
    {
        string order = BigEndian && Size > 1 ? " (big-endian)" : "";
        return Class switch
        {
            0 => $"{(Signed ? "int" : "uint")}{Size * 8}{order}",
            1 when IeeeLayout => $"float{Size * 8}{order}",
            1 => $"non-IEEE {Size * 8}-bit float",
            2 => "time",
            3 => "string",
            4 => "bit field",
            5 => "opaque",
            6 => "compound",
            7 => "reference",
            8 => "enum",
            9 => "variable-length",
            10 => "array",
            _ => $"datatype class {Class}",
        };
    }
}
