using System.Buffers.Binary;
using System.Numerics;

namespace Elmo.Core;

/// <summary>CRC-32C (Castagnoli) over bytes appended in pieces, with the processor's CRC instruction where there is one.</summary>
internal struct Crc32C()
{
    private uint _state = uint.MaxValue;

    /// <summary>Appends bytes.</summary>
    /// <param name="data">The bytes.</param>
    public void Append(ReadOnlySpan<byte> data)
    {
        uint crc = _state;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        _state = crc;
    }

    /// <summary>The checksum of everything appended.</summary>
    public readonly uint Value => ~_state;
}
