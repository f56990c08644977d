namespace Elmo.Core;

/// <summary>
/// Where every structure of a corpus file lies, a pure function of what the file holds (<see cref="CorpusFileShape"/>):
/// an embedding run, a resumed run and a merge of parts place the same bytes at the same addresses.
/// </summary>
/// <remarks>
/// In file order: the superblock; the data region (every dataset's float32 values, in index order, back to back);
/// one object header per dataset, in index order, all the same size; the <c>sentence_to_index</c> dataset's object
/// header and element, and the global heap collection holding its JSON; the root group's local heap (names), its
/// symbol-table nodes (links in name order) and B-tree (level 0 first, the root last); the root group's object header.
/// </remarks>
internal sealed class CorpusFileLayout
{
    /// <summary>The link name of the sentence → key map.</summary>
    public const string SentenceToIndexName = "sentence_to_index";

    /// <summary>Places the structures of a file with this content.</summary>
    /// <param name="shape">What the file holds.</param>
    /// <param name="leafK">Group leaf node K (tests use small values to build deep B-trees from few links).</param>
    /// <param name="internalK">Group internal node K.</param>
    public CorpusFileLayout(CorpusFileShape shape, int leafK = Hdf5Format.DefaultLeafK, int internalK = Hdf5Format.DefaultInternalK)
    {
        Shape = shape;
        LeafK = leafK;
        InternalK = internalK;
        SnodCapacity = 2 * leafK;
        BTreeCapacity = 2 * internalK;
        SnodSize = Hdf5Format.SnodSize(leafK);
        BTreeNodeSize = Hdf5Format.BTreeNodeSize(internalK);
        DatasetHeaderSize = Hdf5Format.FloatDatasetHeaderSize(shape.Rank);
        DataStart = Hdf5Format.SuperblockSize;
        HeadersStart = Hdf5Format.Pad8(DataStart + shape.DataBytes);
        long at = HeadersStart + shape.Count * DatasetHeaderSize;
        if (shape.JsonBytes is long json)
        {
            StringHeaderStart = at;
            StringElementStart = at + Hdf5Format.StringDatasetHeaderSize;
            GlobalHeapStart = StringElementStart + Hdf5Format.VlenElementSize;
            GlobalHeapSize = Hdf5Format.GlobalHeapSize(json);
            at = GlobalHeapStart + GlobalHeapSize;
        }
        LocalHeapStart = at;
        LocalHeapDataSize = 8 + shape.NameHeapBytes + (shape.JsonBytes is null ? 0 : Hdf5Format.HeapNameSize(SentenceToIndexName.Length));
        Links = shape.Count + (shape.JsonBytes is null ? 0 : 1);
        SnodStart = LocalHeapStart + Hdf5Format.LocalHeapHeaderSize + LocalHeapDataSize;
        SnodCount = (Links + SnodCapacity - 1) / SnodCapacity;
        BTreeStart = SnodStart + SnodCount * SnodSize;
        var levels = new List<long>();
        long nodes = Math.Max(1, (SnodCount + BTreeCapacity - 1) / BTreeCapacity);
        levels.Add(nodes);
        while (nodes > 1)
        {
            nodes = (nodes + BTreeCapacity - 1) / BTreeCapacity;
            levels.Add(nodes);
        }
        BTreeLevels = [.. levels];
        RootHeaderStart = BTreeStart + levels.Sum() * BTreeNodeSize;
        BTreeRoot = RootHeaderStart - BTreeNodeSize;
    }

    /// <summary>What the file holds.</summary>
    public CorpusFileShape Shape { get; }

    /// <summary>Group leaf node K (recorded in the superblock).</summary>
    public int LeafK { get; }

    /// <summary>Group internal node K (recorded in the superblock).</summary>
    public int InternalK { get; }

    /// <summary>Entries of one symbol-table node.</summary>
    public int SnodCapacity { get; }

    /// <summary>Children of one B-tree node.</summary>
    public int BTreeCapacity { get; }

    /// <summary>Bytes of one symbol-table node.</summary>
    public int SnodSize { get; }

    /// <summary>Bytes of one B-tree node.</summary>
    public int BTreeNodeSize { get; }

    /// <summary>Bytes of each dataset's object header.</summary>
    public int DatasetHeaderSize { get; }

    /// <summary>Where the first dataset's values are.</summary>
    public long DataStart { get; }

    /// <summary>Where the first dataset's object header is.</summary>
    public long HeadersStart { get; }

    /// <summary>The <c>sentence_to_index</c> object header (0 when there is none).</summary>
    public long StringHeaderStart { get; }

    /// <summary>The <c>sentence_to_index</c> element (length, collection, index).</summary>
    public long StringElementStart { get; }

    /// <summary>The global heap collection that holds the JSON.</summary>
    public long GlobalHeapStart { get; }

    /// <summary>The collection's size.</summary>
    public long GlobalHeapSize { get; }

    /// <summary>Where the JSON's bytes start.</summary>
    public long JsonStart => GlobalHeapStart + Hdf5Format.GlobalHeapHeaderSize + Hdf5Format.GlobalHeapObjectHeaderSize;

    /// <summary>The root group's local heap.</summary>
    public long LocalHeapStart { get; }

    /// <summary>Its data segment's size: an empty name, the dataset names, <c>sentence_to_index</c>.</summary>
    public long LocalHeapDataSize { get; }

    /// <summary>Where the heap's data segment starts.</summary>
    public long LocalHeapDataStart => LocalHeapStart + Hdf5Format.LocalHeapHeaderSize;

    /// <summary>Links of the root group.</summary>
    public long Links { get; }

    /// <summary>The first symbol-table node.</summary>
    public long SnodStart { get; }

    /// <summary>Symbol-table nodes.</summary>
    public long SnodCount { get; }

    /// <summary>The first B-tree node (level 0).</summary>
    public long BTreeStart { get; }

    /// <summary>B-tree nodes per level, level 0 (over the symbol-table nodes) first; the last level has one node, the root.</summary>
    public long[] BTreeLevels { get; }

    /// <summary>The B-tree's root node.</summary>
    public long BTreeRoot { get; }

    /// <summary>The root group's object header (its size depends on the attributes; the file ends with it).</summary>
    public long RootHeaderStart { get; }

    /// <summary>The object header address of the dataset at position <paramref name="local"/> of this file.</summary>
    /// <param name="local">0 … Count − 1.</param>
    /// <returns>The address.</returns>
    public long HeaderAddress(long local) => HeadersStart + local * DatasetHeaderSize;

    /// <summary>The file's size with a root header of <paramref name="rootHeaderSize"/> bytes.</summary>
    /// <param name="rootHeaderSize">Bytes.</param>
    /// <returns>Bytes.</returns>
    public long EndOfFile(int rootHeaderSize) => RootHeaderStart + rootHeaderSize;
}
