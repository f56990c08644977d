using System.Text;

namespace Elmo.Core;

/// <summary>Datasets named by their index, <c>"first"…"first+count−1"</c>, stored in the heap in index order; nothing is held per dataset.</summary>
/// <param name="First">The first index.</param>
/// <param name="Count">Datasets.</param>
internal sealed record IndexNames(long First, long Count) : IGroupNames
{
    /// <summary>The heap offset of index <paramref name="i"/>'s name.</summary>
    /// <param name="i">An index of the file.</param>
    /// <returns>The offset in the data segment.</returns>
    public long NameOffset(long i) => 8 + DecimalNames.HeapBytesBelow(i) - DecimalNames.HeapBytesBelow(First);

    /// <inheritdoc/>
    public void WriteHeap(RegionWriter heap, CorpusFileLayout layout)
    {
        Span<byte> name = stackalloc byte[24];
        for (long i = First; i < First + Count; i++)
        {
            name.Clear();
            int digits = Encoding.ASCII.GetBytes(DecimalNames.Name(i), name);
            heap.Write(name[..(int)Hdf5Format.HeapNameSize(digits)]);
        }
    }

    /// <inheritdoc/>
    public IEnumerable<(long NameOffset, long Header)> Links(CorpusFileLayout layout)
    {
        foreach (long i in DecimalNames.InNameOrder(First, First + Count))
        {
            yield return (NameOffset(i), layout.HeaderAddress(i - First));
        }
    }
}
