namespace Elmo.Core;

/// <summary>The dataset names of a corpus file: what its local heap holds and its links in name order.</summary>
internal interface IGroupNames
{
    /// <summary>Writes the dataset names into the local heap's data segment, after its leading empty name.</summary>
    /// <param name="heap">A writer at <see cref="CorpusFileLayout.LocalHeapDataStart"/> + 8.</param>
    /// <param name="layout">The file's layout.</param>
    void WriteHeap(RegionWriter heap, CorpusFileLayout layout);

    /// <summary>The datasets' links in the byte order of their names: heap offset of the name, object header address.</summary>
    /// <param name="layout">The file's layout.</param>
    /// <returns>One link per dataset.</returns>
    IEnumerable<(long NameOffset, long Header)> Links(CorpusFileLayout layout);
}
