namespace Elmo.Core;

/// <summary>What <see cref="Hdf5Scan"/> verified about one dataset.</summary>
/// <param name="Path">Its first name in the file (hard links only, names in ordinal order).</param>
/// <param name="Dims">Its shape (empty for a scalar).</param>
/// <param name="Element">Its element type.</param>
/// <param name="ChunkDims">The chunk shape of a chunked dataset, else null.</param>
/// <param name="Unreadable">Why its values cannot be read (a filter no reader here decodes, an external or virtual storage), else null.</param>
internal sealed record Hdf5DatasetFacts(string Path, ulong[] Dims, Hdf5Element Element, ulong[]? ChunkDims, string? Unreadable)
{
    /// <summary>Number of elements (saturating at <see cref="ulong.MaxValue"/>).</summary>
    public ulong ElementCount
    {
        get
        {
            ulong n = 1;
            foreach (ulong d in Dims) n = d != 0 && n > ulong.MaxValue / d ? ulong.MaxValue : n * d;
            return n;
        }
    }

    /// <summary>
    /// For a dataset stored contiguously (unfiltered, in this file), the absolute file offset of its first byte, checked
    /// to lie with all of its data inside the file; else null (compact, chunked, external, or never written).
    /// </summary>
    public long? DataOffset { get; init; }

    /// <summary>Bytes of data the dataset declares (saturating).</summary>
    public ulong LogicalBytes => ElementCount > ulong.MaxValue / (ulong)Math.Max(1, Element.Size) ? ulong.MaxValue : ElementCount * (ulong)Math.Max(1, Element.Size);
}
