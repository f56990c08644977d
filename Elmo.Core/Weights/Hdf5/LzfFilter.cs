using PureHDF.Filters;

namespace Elmo.Core;

/// <summary>
/// h5py's LZF filter (id 32000), reading only: liblzf's <c>lzf_decompress</c>, with the output bounded by the chunk's
/// declared size. h5py registers it as optional, so chunks it could not shrink are stored plainly and skipped by the
/// pipeline's filter mask.
/// </summary>
internal sealed class LzfFilter : IH5Filter
{
    /// <inheritdoc />
    public ushort FilterId => 32000;

    /// <inheritdoc />
    public string Name => "lzf";

    /// <inheritdoc />
    public Memory<byte> Filter(FilterInfo info)
    {
        if (!info.Flags.HasFlag(H5FilterFlags.Decompress)) throw new NotSupportedException("The LZF filter is registered for reading only.");
        var input = info.Buffer.Span;
        var output = new byte[Hdf5Filters.OutputLimit(info.ChunkSize)];
        int ip = 0, op = 0;
        while (ip < input.Length)
        {
            int ctrl = input[ip++];
            if (ctrl < 32)
            {
                // literal run of ctrl + 1 bytes
                int n = ctrl + 1;
                if (ip + n > input.Length || op + n > output.Length) throw Damaged(info);
                input.Slice(ip, n).CopyTo(output.AsSpan(op));
                ip += n;
                op += n;
            }
            else
            {
                // back reference: length (ctrl >> 5) + 2, extended by a byte when 7; distance from 13 bits + 1
                int len = ctrl >> 5;
                if (ip >= input.Length) throw Damaged(info);
                if (len == 7)
                {
                    len += input[ip++];
                    if (ip >= input.Length) throw Damaged(info);
                }
                int from = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++];
                len += 2;
                if (from < 0 || op + len > output.Length) throw Damaged(info);
                for (int k = 0; k < len; k++) output[op++] = output[from++];
            }
        }
        return output.AsMemory(0, op);
    }

    private static InvalidDataException Damaged(FilterInfo info) =>
        new($"An LZF-compressed chunk is damaged or expands to more than its declared {info.ChunkSize} bytes.");

    /// <inheritdoc />
    public uint[] GetParameters(uint[] chunkDimensions, uint typeSize, Dictionary<string, object>? options) => [];
}
