using System.Buffers.Binary;
using System.Numerics;

namespace Elmo.Core;

/// <summary>CRC-32C (Castagnoli) over bytes appended in pieces, with the processor's CRC instruction where there is one.</summary>
internal struct Crc32C()
{
    private uint _state = uint.MaxValue;

    /// <summary>Appends bytes.</summary>
    /// <param name="data">The bytes.</param>
    /// <remarks>Compiled optimised at once: a merge checksums gigabytes in one call, and the tier-0 code of a first call would not use the CRC instruction.</remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
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
