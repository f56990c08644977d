using System.Buffers.Binary;
using System.Text;

namespace Elmo.Core;

/// <summary>
/// The HDF5 structures <see cref="CorpusFileWriter"/> writes, encoded as libhdf5 writes them by default (h5py's
/// <c>libver="earliest"</c>): a version 0 superblock, version 1 object headers, and a group kept as a symbol table
/// (a version 1 B-tree over symbol-table nodes, names in a local heap). These structures carry no checksums and are
/// read by every HDF5 reader since 1.0; a symbol-table group finds a name by binary search, so a group of millions
/// of datasets stays fast to open and to look up in (a compact group, as PureHDF writes, is scanned linearly).
/// Offsets and lengths are 8 bytes; everything is little-endian.
/// </summary>
internal static class Hdf5Format
{
    /// <summary>The undefined address.</summary>
    public const ulong Undefined = ulong.MaxValue;

    /// <summary>Bytes of the version 0 superblock with 8-byte offsets and lengths.</summary>
    public const int SuperblockSize = 96;

    /// <summary>Group leaf node K of our files: a symbol-table node holds up to 2K entries (libhdf5's default is 4).</summary>
    public const int DefaultLeafK = 64;

    /// <summary>Group internal node K of our files: a B-tree node has up to 2K children (libhdf5's default is 16).</summary>
    public const int DefaultInternalK = 64;

    /// <summary>Bytes of one symbol-table entry.</summary>
    public const int SymbolEntrySize = 40;

    /// <summary>Bytes of one symbol-table node of 2K entries (written full size: readers read that many bytes).</summary>
    /// <param name="leafK">The file's group leaf node K.</param>
    /// <returns>Bytes.</returns>
    public static int SnodSize(int leafK) => 8 + 2 * leafK * SymbolEntrySize;

    /// <summary>Bytes of one group B-tree node: a 24-byte header, 2K children and 2K + 1 keys (written full size).</summary>
    /// <param name="internalK">The file's group internal node K.</param>
    /// <returns>Bytes.</returns>
    public static int BTreeNodeSize(int internalK) => 24 + 2 * internalK * 8 + (2 * internalK + 1) * 8;

    /// <summary>Bytes of a local heap's header; its data segment follows it.</summary>
    public const int LocalHeapHeaderSize = 32;

    /// <summary>A local heap's "no free block" offset (libhdf5's <c>H5HL_FREE_NULL</c>).</summary>
    public const ulong LocalHeapNoFreeBlock = 1;

    /// <summary>Bytes of a global heap collection's header.</summary>
    public const int GlobalHeapHeaderSize = 16;

    /// <summary>Bytes of a global heap object's header.</summary>
    public const int GlobalHeapObjectHeaderSize = 16;

    /// <summary>The smallest global heap collection readers accept.</summary>
    public const int GlobalHeapMinimumSize = 4096;

    /// <summary>Bytes of a version 1 object header's prefix (12, padded to 8-byte alignment).</summary>
    public const int ObjectHeaderPrefixSize = 16;

    /// <summary>Bytes of the header of one object header message.</summary>
    public const int MessageHeaderSize = 8;

    /// <summary>Bytes of a variable-length element in a dataset: length, collection address, object index.</summary>
    public const int VlenElementSize = 16;

    private const int DatatypeMessageSize = MessageHeaderSize + 24;
    private const int FillValueMessageSize = MessageHeaderSize + 8;
    private const int LayoutMessageSize = MessageHeaderSize + 24;

    /// <summary>The size of a float32 dataset's object header: dataspace, datatype, fill value and layout messages.</summary>
    /// <param name="rank">Dimensions (2 or 3).</param>
    /// <returns>Bytes.</returns>
    public static int FloatDatasetHeaderSize(int rank) => ObjectHeaderPrefixSize + DataspaceMessageSize(rank) + DatatypeMessageSize + FillValueMessageSize + LayoutMessageSize;

    /// <summary>The size of the one-element variable-length string dataset's object header.</summary>
    public static int StringDatasetHeaderSize => ObjectHeaderPrefixSize + DataspaceMessageSize(1) + DatatypeMessageSize + FillValueMessageSize + LayoutMessageSize;

    /// <summary>Rounds up to a multiple of 8.</summary>
    /// <param name="n">A size.</param>
    /// <returns>The size padded to 8-byte alignment.</returns>
    public static long Pad8(long n) => (n + 7) & ~7L;

    /// <summary>Bytes a name takes in a local heap: its UTF-8 bytes, a NUL, padded to 8.</summary>
    /// <param name="utf8Length">The name's UTF-8 length.</param>
    /// <returns>Bytes.</returns>
    public static long HeapNameSize(long utf8Length) => Pad8(utf8Length + 1);

    /// <summary>Writes the superblock.</summary>
    /// <param name="destination">At least <see cref="SuperblockSize"/> bytes.</param>
    /// <param name="endOfFile">The file's size.</param>
    /// <param name="rootHeader">The root group's object header.</param>
    /// <param name="rootBTree">The root group's B-tree root node.</param>
    /// <param name="rootHeap">The root group's local heap.</param>
    /// <param name="leafK">Group leaf node K.</param>
    /// <param name="internalK">Group internal node K.</param>
    public static void WriteSuperblock(Span<byte> destination, ulong endOfFile, ulong rootHeader, ulong rootBTree, ulong rootHeap, int leafK, int internalK)
    {
        var d = destination[..SuperblockSize];
        d.Clear();
        ReadOnlySpan<byte> signature = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
        signature.CopyTo(d);
        // Versions (superblock, free space, root symbol table entry, reserved, shared header) are 0; sizes of offsets and lengths.
        d[13] = 8;
        d[14] = 8;
        BinaryPrimitives.WriteUInt16LittleEndian(d[16..], (ushort)leafK);
        BinaryPrimitives.WriteUInt16LittleEndian(d[18..], (ushort)internalK);
        // File consistency flags 0, base address 0.
        U64(d, 32, Undefined); // free-space info
        U64(d, 40, endOfFile);
        U64(d, 48, Undefined); // driver info
        // Root group symbol table entry: link name offset 0, object header, cache type 1 (B-tree and heap in the scratch pad).
        U64(d, 64, rootHeader);
        BinaryPrimitives.WriteUInt32LittleEndian(d[72..], 1);
        U64(d, 80, rootBTree);
        U64(d, 88, rootHeap);
    }

    /// <summary>Writes a float32 dataset's object header: contiguous storage at <paramref name="dataAddress"/>.</summary>
    /// <param name="destination">At least <see cref="FloatDatasetHeaderSize"/> bytes.</param>
    /// <param name="dims">The shape (rank 2 or 3).</param>
    /// <param name="dataAddress">Where the values are (<see cref="Undefined"/> when there are none).</param>
    /// <returns>The bytes written.</returns>
    public static int WriteFloatDatasetHeader(Span<byte> destination, ReadOnlySpan<ulong> dims, ulong dataAddress)
    {
        ulong bytes = 4;
        foreach (ulong n in dims) bytes *= n;
        int size = FloatDatasetHeaderSize(dims.Length);
        var d = destination[..size];
        d.Clear();
        int at = ObjectHeaderPrefix(d, messages: 4, size);
        at = Dataspace(d, at, dims);
        // Datatype (constant): IEEE float32 little-endian. Class 1 version 1; mantissa normalisation "implied";
        // sign at bit 31; offset 0, precision 32, exponent at 23 (8 bits), mantissa at 0 (23 bits), bias 127.
        at = Message(d, at, type: 3, dataSize: 24, flags: 1);
        ReadOnlySpan<byte> float32 = [0x11, 0x20, 0x1f, 0x00, 4, 0, 0, 0, 0, 0, 32, 0, 23, 8, 0, 23, 127, 0, 0, 0];
        float32.CopyTo(d[at..]);
        at += 24;
        // Fill value (version 2): allocation late, written if set, default value: what libhdf5 writes for h5py's datasets.
        at = Message(d, at, type: 5, dataSize: 8, flags: 1);
        d[at] = 2;
        d[at + 1] = 2;
        d[at + 2] = 2;
        d[at + 3] = 1;
        at += 8;
        return Layout(d, at, dataAddress, bytes);
    }

    /// <summary>Writes the object header of a one-element variable-length UTF-8 string dataset whose element is at <paramref name="elementAddress"/>.</summary>
    /// <param name="destination">At least <see cref="StringDatasetHeaderSize"/> bytes.</param>
    /// <param name="elementAddress">Where the 16-byte element (length, collection, index) is.</param>
    /// <returns>The bytes written.</returns>
    public static int WriteStringDatasetHeader(Span<byte> destination, ulong elementAddress)
    {
        int size = StringDatasetHeaderSize;
        var d = destination[..size];
        d.Clear();
        int at = ObjectHeaderPrefix(d, messages: 4, size);
        at = Dataspace(d, at, [1]);
        at = Message(d, at, type: 3, dataSize: 24, flags: 1);
        VlenString(d[at..]);
        at += 24;
        at = Message(d, at, type: 5, dataSize: 8, flags: 1);
        d[at] = 2;
        d[at + 1] = 2;
        d[at + 2] = 0;
        d[at + 3] = 1;
        at += 8;
        return Layout(d, at, elementAddress, VlenElementSize);
    }

    /// <summary>Writes a variable-length element: <paramref name="length"/> bytes, object <paramref name="index"/> of the collection at <paramref name="collection"/>.</summary>
    /// <param name="destination">At least <see cref="VlenElementSize"/> bytes.</param>
    /// <param name="length">The string's length in bytes.</param>
    /// <param name="collection">The global heap collection.</param>
    /// <param name="index">The object's index in it.</param>
    public static void WriteVlenElement(Span<byte> destination, uint length, ulong collection, uint index)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, length);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[4..], collection);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], index);
    }

    /// <summary>The size of a group's object header with a symbol table message and these attributes.</summary>
    /// <param name="attributes">Name and UTF-8 value of each fixed-length string attribute.</param>
    /// <returns>Bytes.</returns>
    public static int GroupHeaderSize(IReadOnlyList<(string Name, byte[] Value)> attributes)
    {
        int size = ObjectHeaderPrefixSize + MessageHeaderSize + 16;
        foreach (var (name, value) in attributes) size += MessageHeaderSize + AttributeDataSize(name, value);
        return size;
    }

    /// <summary>Writes a group's object header: a symbol table message, then one fixed-length UTF-8 string attribute per entry.</summary>
    /// <param name="destination">At least <see cref="GroupHeaderSize"/> bytes.</param>
    /// <param name="bTree">The group's B-tree root node.</param>
    /// <param name="heap">The group's local heap.</param>
    /// <param name="attributes">Scalar string attributes (each under 64 KiB).</param>
    /// <returns>The bytes written.</returns>
    public static int WriteGroupHeader(Span<byte> destination, ulong bTree, ulong heap, IReadOnlyList<(string Name, byte[] Value)> attributes)
    {
        int size = GroupHeaderSize(attributes);
        var d = destination[..size];
        d.Clear();
        int at = ObjectHeaderPrefix(d, messages: 1 + attributes.Count, size);
        at = Message(d, at, type: 0x11, dataSize: 16, flags: 0);
        U64(d, at, bTree);
        U64(d, at + 8, heap);
        at += 16;
        foreach (var (name, value) in attributes)
        {
            int dataSize = AttributeDataSize(name, value);
            if (dataSize > ushort.MaxValue) throw new ArgumentException($"Attribute '{name}' is too long for an object header message.", nameof(attributes));
            at = Message(d, at, type: 0x0C, dataSize: dataSize, flags: 0);
            byte[] nameBytes = Encoding.UTF8.GetBytes(name);
            d[at] = 1; // version
            BinaryPrimitives.WriteUInt16LittleEndian(d[(at + 2)..], (ushort)(nameBytes.Length + 1));
            BinaryPrimitives.WriteUInt16LittleEndian(d[(at + 4)..], 8);
            BinaryPrimitives.WriteUInt16LittleEndian(d[(at + 6)..], 8);
            int p = at + 8;
            nameBytes.CopyTo(d[p..]);
            p += (int)Pad8(nameBytes.Length + 1);
            // Datatype: fixed-length string (class 3, version 1), null-padded, UTF-8, exactly the value's bytes.
            d[p] = 0x13;
            d[p + 1] = 0x11;
            BinaryPrimitives.WriteUInt32LittleEndian(d[(p + 4)..], (uint)Math.Max(1, value.Length));
            p += 8;
            // Dataspace: scalar (version 1, rank 0).
            d[p] = 1;
            p += 8;
            value.CopyTo(d[p..]);
            at += dataSize;
        }
        return size;
    }

    /// <summary>Writes a group B-tree node (type 0) header; keys and children are written by <see cref="WriteBTreeEntry"/>.</summary>
    /// <param name="destination">A whole node's bytes (cleared here).</param>
    /// <param name="level">0 when the children are symbol-table nodes.</param>
    /// <param name="entries">Children used.</param>
    /// <param name="left">Left sibling or <see cref="Undefined"/>.</param>
    /// <param name="right">Right sibling or <see cref="Undefined"/>.</param>
    public static void WriteBTreeNodeHeader(Span<byte> destination, int level, int entries, ulong left, ulong right)
    {
        var d = destination;
        d.Clear();
        "TREE"u8.CopyTo(d);
        d[4] = 0; // group node
        d[5] = (byte)level;
        BinaryPrimitives.WriteUInt16LittleEndian(d[6..], (ushort)entries);
        U64(d, 8, left);
        U64(d, 16, right);
    }

    /// <summary>Writes key <paramref name="i"/> of a B-tree node (a local-heap offset of a name) and, unless it is the last key, child <paramref name="i"/>.</summary>
    /// <param name="node">The node.</param>
    /// <param name="i">Key index, 0 … entries.</param>
    /// <param name="keyHeapOffset">The name's offset in the local heap: every name of child i − 1 is ≤ it, every name of child i is greater.</param>
    /// <param name="child">Child i's address, or null after the last key.</param>
    public static void WriteBTreeEntry(Span<byte> node, int i, ulong keyHeapOffset, ulong? child)
    {
        int at = 24 + 16 * i;
        U64(node, at, keyHeapOffset);
        if (child is ulong c) U64(node, at + 8, c);
    }

    /// <summary>Writes a symbol-table node's 8-byte header; its entries are written by <see cref="WriteSymbolEntry"/>, before or after.</summary>
    /// <param name="destination">A whole node's bytes.</param>
    /// <param name="count">Entries used.</param>
    public static void WriteSnodHeader(Span<byte> destination, int count)
    {
        var d = destination[..8];
        "SNOD"u8.CopyTo(d);
        d[4] = 1;
        d[5] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(d[6..], (ushort)count);
    }

    /// <summary>Writes entry <paramref name="i"/> of a symbol-table node: a link to an object header, no cached data.</summary>
    /// <param name="node">The node.</param>
    /// <param name="i">Entry index.</param>
    /// <param name="nameHeapOffset">The link name's offset in the local heap.</param>
    /// <param name="objectHeader">The linked object's header.</param>
    public static void WriteSymbolEntry(Span<byte> node, int i, ulong nameHeapOffset, ulong objectHeader)
    {
        int at = 8 + SymbolEntrySize * i;
        U64(node, at, nameHeapOffset);
        U64(node, at + 8, objectHeader);
    }

    /// <summary>Writes a local heap's header; its data segment follows immediately.</summary>
    /// <param name="destination">At least <see cref="LocalHeapHeaderSize"/> bytes.</param>
    /// <param name="dataSize">The data segment's size.</param>
    /// <param name="dataAddress">The data segment's address.</param>
    public static void WriteLocalHeapHeader(Span<byte> destination, ulong dataSize, ulong dataAddress)
    {
        var d = destination[..LocalHeapHeaderSize];
        d.Clear();
        "HEAP"u8.CopyTo(d);
        U64(d, 8, dataSize);
        U64(d, 16, LocalHeapNoFreeBlock);
        U64(d, 24, dataAddress);
    }

    /// <summary>Writes a global heap collection's header.</summary>
    /// <param name="destination">At least <see cref="GlobalHeapHeaderSize"/> bytes.</param>
    /// <param name="collectionSize">The whole collection's size, header included (at least 4096).</param>
    public static void WriteGlobalHeapHeader(Span<byte> destination, ulong collectionSize)
    {
        var d = destination[..GlobalHeapHeaderSize];
        d.Clear();
        "GCOL"u8.CopyTo(d);
        d[4] = 1;
        U64(d, 8, collectionSize);
    }

    /// <summary>Writes a global heap object's header (reference count 0, as libhdf5 writes variable-length data).</summary>
    /// <param name="destination">At least <see cref="GlobalHeapObjectHeaderSize"/> bytes.</param>
    /// <param name="index">Object index (0: the free space at the end of the collection).</param>
    /// <param name="size">The object's size (for free space, the whole remainder, this header included).</param>
    public static void WriteGlobalHeapObjectHeader(Span<byte> destination, ushort index, ulong size)
    {
        var d = destination[..GlobalHeapObjectHeaderSize];
        d.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(d, index);
        U64(d, 8, size);
    }

    /// <summary>The size of a global heap collection holding one object of <paramref name="objectSize"/> bytes.</summary>
    /// <param name="objectSize">The object's size.</param>
    /// <returns>The collection's size: header, object header, data padded to 8, at least <see cref="GlobalHeapMinimumSize"/>.</returns>
    public static long GlobalHeapSize(long objectSize) => Math.Max(GlobalHeapMinimumSize, GlobalHeapHeaderSize + GlobalHeapObjectHeaderSize + Pad8(objectSize));

    private static int DataspaceMessageSize(int rank) => MessageHeaderSize + 8 + 16 * rank;

    private static int AttributeDataSize(string name, byte[] value) =>
        8 + (int)Pad8(Encoding.UTF8.GetByteCount(name) + 1) + 8 + 8 + (int)Pad8(Math.Max(1, value.Length));

    private static int ObjectHeaderPrefix(Span<byte> d, int messages, int size)
    {
        d[0] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(d[2..], (ushort)messages);
        BinaryPrimitives.WriteUInt32LittleEndian(d[4..], 1); // reference count
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], (uint)(size - ObjectHeaderPrefixSize));
        return ObjectHeaderPrefixSize;
    }

    private static int Message(Span<byte> d, int at, int type, int dataSize, byte flags)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(d[at..], (ushort)type);
        BinaryPrimitives.WriteUInt16LittleEndian(d[(at + 2)..], (ushort)dataSize);
        d[at + 4] = flags;
        return at + MessageHeaderSize;
    }

    /// <summary>Dataspace message version 1 with maximum dimensions equal to the dimensions (as h5py writes a fixed-size dataset).</summary>
    private static int Dataspace(Span<byte> d, int at, ReadOnlySpan<ulong> dims)
    {
        at = Message(d, at, type: 1, dataSize: 8 + 16 * dims.Length, flags: 0);
        d[at] = 1;
        d[at + 1] = (byte)dims.Length;
        d[at + 2] = 1; // maximum dimensions present
        at += 8;
        for (int i = 0; i < dims.Length; i++) U64(d, at + 8 * i, dims[i]);
        at += 8 * dims.Length;
        for (int i = 0; i < dims.Length; i++) U64(d, at + 8 * i, dims[i]);
        return at + 8 * dims.Length;
    }

    /// <summary>Datatype of a variable-length UTF-8 string (class 9, null-terminated) over unsigned bytes: h5py's <c>special_dtype(vlen=str)</c>.</summary>
    private static void VlenString(Span<byte> d)
    {
        ReadOnlySpan<byte> bytes = [0x19, 0x01, 0x01, 0x00, 16, 0, 0, 0, 0x10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 8, 0];
        bytes.CopyTo(d);
    }

    /// <summary>Data layout message version 3, contiguous.</summary>
    private static int Layout(Span<byte> d, int at, ulong address, ulong size)
    {
        at = Message(d, at, type: 8, dataSize: 24, flags: 0);
        d[at] = 3;
        d[at + 1] = 1;
        U64(d, at + 2, address);
        U64(d, at + 10, size);
        return at + 24;
    }

    private static void U64(Span<byte> d, int at, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(d[at..], value);
}
