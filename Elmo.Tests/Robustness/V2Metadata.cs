using System.Buffers.Binary;
using System.Text;

namespace Elmo.Tests.Robustness;

/// <summary>
/// Finds the byte ranges of an HDF5 file that the format protects with checksums and that tests damage on purpose:
/// the superblock v2/v3, version-2 object headers (<c>OHDR</c>) and their continuation blocks (<c>OCHK</c>). A small
/// parser of its own, independent of the reader under test.
/// </summary>
internal static class V2Metadata
{
    /// <summary>Start and length of each checksummed range, checksum included.</summary>
    public static List<(int Start, int Length)> ChecksummedRanges(byte[] file)
    {
        var ranges = new List<(int, int)>();
        if (file.Length >= 48 && file[8] is 2 or 3)
        {
            int o = file[9];
            ranges.Add((0, 12 + 4 * o + 4));
        }
        int sizeOfOffsets = file.Length > 13 && file[8] is 0 or 1 ? file[13] : file[9];
        for (int at = IndexOf(file, "OHDR", 0); at >= 0; at = IndexOf(file, "OHDR", at + 4))
        {
            int flags = file[at + 5];
            int pos = at + 6 + ((flags & 0x20) != 0 ? 16 : 0) + ((flags & 0x10) != 0 ? 4 : 0);
            int sizeBytes = 1 << (flags & 3);
            long size0 = 0;
            for (int i = sizeBytes - 1; i >= 0; i--) size0 = (size0 << 8) | file[pos + i];
            int end = pos + sizeBytes + (int)size0 + 4;
            if (end > file.Length) continue;
            ranges.Add((at, end - at));
            // Continuation messages (type 0x10) name the OCHK blocks and their lengths.
            int header = (flags & 0x04) != 0 ? 6 : 4;
            for (int p = pos + sizeBytes; p + header <= end - 4;)
            {
                int type = file[p];
                int msize = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(p + 1));
                if (type == 0x10)
                {
                    long address = (long)BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(p + header, 8));
                    long length = (long)BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(p + header + sizeOfOffsets, 8));
                    if (sizeOfOffsets == 8 && address + length <= file.Length) ranges.Add(((int)address, (int)length));
                }
                p += header + msize;
            }
        }
        return ranges;
    }

    private static int IndexOf(byte[] file, string signature, int from)
    {
        int i = file.AsSpan(from).IndexOf(Encoding.ASCII.GetBytes(signature));
        return i < 0 ? -1 : from + i;
    }
}
