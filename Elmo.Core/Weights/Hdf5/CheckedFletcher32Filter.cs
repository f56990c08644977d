using PureHDF.Filters;

namespace Elmo.Core;

/// <summary>
/// HDF5's Fletcher-32 filter (id 3): when reading, verifies the checksum as libhdf5 does (also accepting the
/// byte-swapped value written by HDF5 before 1.6.3) and returns a copy of the data without it.
/// </summary>
internal sealed class CheckedFletcher32Filter : IH5Filter
{
    /// <inheritdoc />
    public ushort FilterId => 3;

    /// <inheritdoc />
    public string Name => "fletcher32";

    /// <inheritdoc />
    public Memory<byte> Filter(FilterInfo info)
    {
        // Writing (a host application compressing its own files with PureHDF) is PureHDF's own filter's job.
        if (!info.Flags.HasFlag(H5FilterFlags.Decompress)) return Writer.Filter(info);
        var buffer = info.Buffer.Span;
        if (buffer.Length < 4) throw new InvalidDataException("A Fletcher-32 filtered chunk is shorter than its checksum.");
        var data = buffer[..^4];
        if (!info.Flags.HasFlag(H5FilterFlags.SkipEdc))
        {
            uint stored = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(buffer[^4..]);
            uint sum = Checksum(data);
            // H5Zfletcher32.c: the value of HDF5 before 1.6.3 had its bytes swapped pairwise on little-endian machines.
            uint reversed = ((sum & 0x00FF00FF) << 8) | ((sum >> 8) & 0x00FF00FF);
            if (stored != sum && stored != reversed) throw new InvalidDataException("Data error detected by the Fletcher-32 checksum: the chunk is damaged.");
        }
        return data.ToArray();
    }

    /// <inheritdoc />
    public uint[] GetParameters(uint[] chunkDimensions, uint typeSize, Dictionary<string, object>? options) => Writer.GetParameters(chunkDimensions, typeSize, options);

    private static readonly PureHDF.Filters.Fletcher32Filter Writer = new();

    /// <summary>H5_checksum_fletcher32: 16-bit big-endian words, sums reduced every 360 words.</summary>
    internal static uint Checksum(ReadOnlySpan<byte> data)
    {
        uint sum1 = 0, sum2 = 0;
        int words = data.Length / 2, i = 0;
        while (words > 0)
        {
            int block = Math.Min(words, 360);
            words -= block;
            for (int k = 0; k < block; k++, i += 2)
            {
                sum1 += (uint)((data[i] << 8) | data[i + 1]);
                sum2 += sum1;
            }
            sum1 = (sum1 & 0xffff) + (sum1 >> 16);
            sum2 = (sum2 & 0xffff) + (sum2 >> 16);
        }
        if (data.Length % 2 != 0)
        {
            sum1 += (uint)(data[^1] << 8);
            sum2 += sum1;
            sum1 = (sum1 & 0xffff) + (sum1 >> 16);
            sum2 = (sum2 & 0xffff) + (sum2 >> 16);
        }
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
        return (sum2 << 16) | sum1;
    }
}
