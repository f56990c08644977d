using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Elmo.Core;

/// <summary>
/// Writes a corpus file (<see cref="CorpusFileLayout"/>) as it is computed, with positional writes and nothing held
/// per dataset: each dataset's values go straight to their place in the data region, object headers and the
/// <c>sentence_to_index</c> JSON are appended in index order, and <see cref="Finish"/> writes the group (names, symbol
/// table), the root header and, last, the superblock. No reflection, nothing generic: a plain sequence of bytes that
/// libhdf5 (h5py), PureHDF and every other HDF5 reader read as the layout AllenNLP's <c>elmo</c> command wrote.
/// </summary>
internal sealed class CorpusFileWriter
{
    private readonly SafeFileHandle _file;
    private readonly RegionWriter _headers;
    private readonly RegionWriter? _json;
    private readonly byte[] _header;
    private readonly ulong[] _dims;
    private long _nextHeader;

    /// <summary>Starts writing <paramref name="layout"/> into <paramref name="file"/> (which may hold an earlier, interrupted attempt: every byte is rewritten).</summary>
    /// <param name="file">A file opened for writing.</param>
    /// <param name="layout">Where everything goes.</param>
    /// <param name="layers">Layers per dataset (rank 3), ignored for rank 2.</param>
    /// <param name="dim">Values per token.</param>
    /// <param name="headersWritten">Dataset headers already in the file (a resumed run): appending continues after them.</param>
    /// <param name="jsonWritten">Bytes of <c>sentence_to_index</c> already in the file (a resumed run).</param>
    public CorpusFileWriter(SafeFileHandle file, CorpusFileLayout layout, int layers, int dim, long headersWritten = 0, long jsonWritten = 0)
    {
        _file = file;
        Layout = layout;
        _headers = new RegionWriter(file, layout.HeaderAddress(headersWritten), 1 << 16);
        _nextHeader = headersWritten;
        if (layout.Shape.JsonBytes is not null) _json = new RegionWriter(file, layout.JsonStart + jsonWritten, 1 << 16);
        JsonWritten = jsonWritten;
        _header = new byte[layout.DatasetHeaderSize];
        _dims = layout.Shape.Rank == 3 ? [(ulong)layers, 0, (ulong)dim] : [0, (ulong)dim];
        Layers = layout.Shape.Rank == 3 ? layers : 1;
        Dim = dim;
    }

    /// <summary>The layout being written.</summary>
    public CorpusFileLayout Layout { get; }

    /// <summary>Layers per dataset (1 for rank 2).</summary>
    public int Layers { get; }

    /// <summary>Values per token.</summary>
    public int Dim { get; }

    /// <summary>Bytes of a dataset of <paramref name="tokens"/> tokens.</summary>
    /// <param name="tokens">Tokens.</param>
    /// <returns>Bytes.</returns>
    public long DataBytes(int tokens) => (long)Layers * tokens * Dim * sizeof(float);

    /// <summary>JSON bytes appended so far.</summary>
    public long JsonWritten { get; private set; }

    /// <summary>Appends the object header of the next dataset (in index order).</summary>
    /// <param name="dataOffset">Where its values start, relative to <see cref="CorpusFileLayout.DataStart"/>.</param>
    /// <param name="tokens">Its tokens.</param>
    /// <exception cref="InvalidOperationException">More datasets than the layout holds, or values past the data region.</exception>
    public void AppendHeader(long dataOffset, int tokens)
    {
        if (_nextHeader >= Layout.Shape.Count || dataOffset + DataBytes(tokens) > Layout.Shape.DataBytes)
        {
            throw new InvalidOperationException("More datasets or values than the file was laid out for.");
        }
        _dims[^2] = (ulong)tokens;
        ulong address = tokens == 0 ? Hdf5Format.Undefined : (ulong)(Layout.DataStart + dataOffset);
        Hdf5Format.WriteFloatDatasetHeader(_header, _dims, address);
        _headers.Write(_header);
        _nextHeader++;
    }

    /// <summary>Writes out what the headers and the JSON hold in their buffers (before a checkpoint).</summary>
    public void FlushAppends()
    {
        _headers.Flush();
        _json?.Flush();
    }

    /// <summary>Writes values into the data region.</summary>
    /// <param name="dataOffset">Where, relative to <see cref="CorpusFileLayout.DataStart"/>.</param>
    /// <param name="values">The values.</param>
    public void WriteValues(long dataOffset, ReadOnlySpan<float> values) =>
        RandomAccess.Write(_file, MemoryMarshal.AsBytes(values), Layout.DataStart + dataOffset);

    /// <summary>Appends bytes of the <c>sentence_to_index</c> JSON.</summary>
    /// <param name="ascii">The bytes.</param>
    public void AppendJson(ReadOnlySpan<byte> ascii)
    {
        _json!.Write(ascii);
        JsonWritten += ascii.Length;
    }

    /// <summary>Writes everything but the data region, the headers and the JSON: the group, the root header, the superblock.</summary>
    /// <param name="names">The dataset names.</param>
    /// <param name="attributes">String attributes of the root group (none in a finished output).</param>
    /// <param name="checksum">Add a last attribute, <see cref="PartFile.ChecksumName"/>: the CRC-32C of every byte before the root group's header (read back once written).</param>
    /// <returns>The file's size.</returns>
    /// <exception cref="InvalidOperationException">Fewer headers or JSON bytes than the layout says (the input changed).</exception>
    public long Finish(IGroupNames names, IReadOnlyList<(string Name, byte[] Value)> attributes, bool checksum = false)
    {
        _headers.Flush();
        if (_nextHeader != Layout.Shape.Count) throw new InvalidOperationException($"{_nextHeader} dataset headers written, {Layout.Shape.Count} laid out.");
        var layout = Layout;
        long dataEnd = layout.DataStart + layout.Shape.DataBytes;
        if (layout.HeadersStart > dataEnd) RandomAccess.Write(_file, new byte[layout.HeadersStart - dataEnd], dataEnd);
        var buffer = new byte[Math.Max(Hdf5Format.StringDatasetHeaderSize + Hdf5Format.VlenElementSize, Hdf5Format.GlobalHeapMinimumSize)];

        if (layout.Shape.JsonBytes is long json)
        {
            _json!.Flush();
            if (JsonWritten != json) throw new InvalidOperationException($"{JsonWritten} bytes of sentence_to_index written, {json} laid out.");
            // The dataset's header and its one element, then the collection's framing around the JSON: its header,
            // the object's header, the padding after the JSON and the free space that fills the collection to its size.
            int at = Hdf5Format.WriteStringDatasetHeader(buffer, (ulong)layout.StringElementStart);
            Hdf5Format.WriteVlenElement(buffer.AsSpan(at), (uint)json, (ulong)layout.GlobalHeapStart, 1);
            RandomAccess.Write(_file, buffer.AsSpan(0, at + Hdf5Format.VlenElementSize), layout.StringHeaderStart);
            Span<byte> framing = stackalloc byte[Hdf5Format.GlobalHeapHeaderSize + Hdf5Format.GlobalHeapObjectHeaderSize];
            Hdf5Format.WriteGlobalHeapHeader(framing, (ulong)layout.GlobalHeapSize);
            Hdf5Format.WriteGlobalHeapObjectHeader(framing[Hdf5Format.GlobalHeapHeaderSize..], 1, (ulong)json);
            RandomAccess.Write(_file, framing, layout.GlobalHeapStart);
            long end = layout.JsonStart + json;
            long padded = layout.JsonStart + Hdf5Format.Pad8(json);
            long collectionEnd = layout.GlobalHeapStart + layout.GlobalHeapSize;
            var tail = new RegionWriter(_file, end, 1 << 12);
            tail.WriteZeros(padded - end);
            if (collectionEnd - padded >= Hdf5Format.GlobalHeapObjectHeaderSize)
            {
                Hdf5Format.WriteGlobalHeapObjectHeader(tail.Reserve(Hdf5Format.GlobalHeapObjectHeaderSize), 0, (ulong)(collectionEnd - padded));
                tail.WriteZeros(collectionEnd - padded - Hdf5Format.GlobalHeapObjectHeaderSize);
            }
            tail.Flush();
        }

        // The local heap: header, the empty name, the dataset names, "sentence_to_index".
        var heap = new RegionWriter(_file, layout.LocalHeapStart);
        Hdf5Format.WriteLocalHeapHeader(heap.Reserve(Hdf5Format.LocalHeapHeaderSize), (ulong)layout.LocalHeapDataSize, (ulong)layout.LocalHeapDataStart);
        heap.WriteZeros(8);
        names.WriteHeap(heap, layout);
        long stringName = heap.Position - layout.LocalHeapDataStart;
        if (layout.Shape.JsonBytes is not null)
        {
            heap.Write(Encoding.ASCII.GetBytes(CorpusFileLayout.SentenceToIndexName));
            heap.WriteZeros(Hdf5Format.HeapNameSize(CorpusFileLayout.SentenceToIndexName.Length) - CorpusFileLayout.SentenceToIndexName.Length);
        }
        if (heap.Position != layout.SnodStart) throw new InvalidOperationException($"The names took {heap.Position - layout.LocalHeapDataStart} bytes, {layout.LocalHeapDataSize} laid out.");
        heap.Flush();

        SymbolTableWriter.Write(_file, layout, WithStringLink(names.Links(layout), layout, stringName));

        // The checksum's value is 8 hex digits whatever it is, so the file's size is known before it is computed.
        var all = checksum ? [.. attributes, (PartFile.ChecksumName, new byte[8])] : attributes;
        var root = new byte[Hdf5Format.GroupHeaderSize(all)];
        long endOfFile = layout.EndOfFile(root.Length);
        Hdf5Format.WriteSuperblock(buffer, (ulong)endOfFile, (ulong)layout.RootHeaderStart, (ulong)layout.BTreeRoot, (ulong)layout.LocalHeapStart, layout.LeafK, layout.InternalK);
        RandomAccess.Write(_file, buffer.AsSpan(0, Hdf5Format.SuperblockSize), 0);
        if (checksum)
        {
            uint crc = Checksum(_file, 0, layout.RootHeaderStart);
            all = [.. attributes, (PartFile.ChecksumName, Encoding.ASCII.GetBytes(crc.ToString("x8", System.Globalization.CultureInfo.InvariantCulture)))];
        }
        Hdf5Format.WriteGroupHeader(root, (ulong)layout.BTreeRoot, (ulong)layout.LocalHeapStart, all);
        RandomAccess.Write(_file, root, layout.RootHeaderStart);
        RandomAccess.SetLength(_file, endOfFile);
        return endOfFile;
    }

    /// <summary>The CRC-32C of bytes [<paramref name="start"/>, <paramref name="end"/>) of a file.</summary>
    /// <param name="file">The file.</param>
    /// <param name="start">First byte.</param>
    /// <param name="end">One past the last.</param>
    /// <returns>The checksum.</returns>
    internal static uint Checksum(SafeFileHandle file, long start, long end)
    {
        var crc = new Crc32C();
        var buffer = new byte[1 << 20];
        for (long at = start; at < end;)
        {
            int n = RandomAccess.Read(file, buffer.AsSpan(0, (int)Math.Min(buffer.Length, end - at)), at);
            if (n <= 0) throw new IOException("The file ended before its root group's header.");
            crc.Append(buffer.AsSpan(0, n));
            at += n;
        }
        return crc.Value;
    }

    /// <summary>The datasets' links, then <c>sentence_to_index</c>'s: its name sorts after every decimal name.</summary>
    private static IEnumerable<(long, long)> WithStringLink(IEnumerable<(long, long)> links, CorpusFileLayout layout, long stringName)
    {
        foreach (var link in links) yield return link;
        if (layout.Shape.JsonBytes is not null) yield return (stringName, layout.StringHeaderStart);
    }
}
