using System.IO.Compression;
using PureHDF.Filters;

namespace Elmo.Core;

/// <summary>
/// HDF5's deflate filter (id 1), with the output of decompression bounded by the chunk's declared size: a stream that
/// inflates to more is refused, so a small crafted chunk cannot expand to gigabytes. The output buffer grows with what
/// is actually produced, not with what the chunk declares.
/// </summary>
internal sealed class BoundedDeflateFilter : IH5Filter
{
    /// <inheritdoc />
    public ushort FilterId => 1;

    /// <inheritdoc />
    public string Name => "deflate";

    /// <inheritdoc />
    public Memory<byte> Filter(FilterInfo info)
    {
        // Writing (a host application compressing its own files with PureHDF) is PureHDF's own filter's job.
        if (!info.Flags.HasFlag(H5FilterFlags.Decompress)) return Writer.Filter(info);
        int limit = Hdf5Filters.OutputLimit(info.ChunkSize);
        using var input = new MemoryStream(info.Buffer.ToArray(), writable: false);
        using var inflater = new ZLibStream(input, CompressionMode.Decompress);
        var output = new byte[(int)Math.Min(limit, Math.Max(4096L, 4L * info.Buffer.Length))];
        int length = 0;
        while (true)
        {
            if (length == output.Length)
            {
                if (length >= limit)
                {
                    if (inflater.ReadByte() < 0) break;
                    throw new InvalidDataException($"A deflate-compressed chunk expands to more than its declared {info.ChunkSize} bytes: the file is damaged or crafted.");
                }
                Array.Resize(ref output, (int)Math.Min(limit, 2L * output.Length));
            }
            int n = inflater.Read(output, length, output.Length - length);
            if (n == 0) break;
            length += n;
        }
        return output.AsMemory(0, length);
    }

    /// <inheritdoc />
    public uint[] GetParameters(uint[] chunkDimensions, uint typeSize, Dictionary<string, object>? options) => Writer.GetParameters(chunkDimensions, typeSize, options);

    private static readonly PureHDF.Filters.DeflateFilter Writer = new();
}
