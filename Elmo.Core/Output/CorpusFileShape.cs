namespace Elmo.Core;

/// <summary>What a corpus file holds, enough to place every structure in it (<see cref="CorpusFileLayout"/>).</summary>
/// <param name="Count">Datasets (sentences).</param>
/// <param name="FirstIndex">The index of the first dataset (0, or a part's first sentence); datasets are named by index unless <paramref name="NameHeapBytes"/> says otherwise.</param>
/// <param name="Rank">Dimensions of each dataset: 3 for <c>(layers, tokens, dim)</c>, 2 for <c>(tokens, dim)</c>.</param>
/// <param name="DataBytes">The values of all datasets.</param>
/// <param name="JsonBytes">The <c>sentence_to_index</c> JSON's length; null when the file has no such dataset.</param>
/// <param name="NameHeapBytes">Bytes the dataset names take in the local heap (each NUL-terminated, padded to 8).</param>
internal sealed record CorpusFileShape(long Count, long FirstIndex, int Rank, long DataBytes, long? JsonBytes, long NameHeapBytes)
{
    /// <summary>The shape of a file whose datasets are named by index.</summary>
    /// <param name="count">Datasets.</param>
    /// <param name="firstIndex">The first dataset's index.</param>
    /// <param name="rank">Dimensions of each dataset.</param>
    /// <param name="dataBytes">Bytes of all values.</param>
    /// <param name="jsonBytes">The JSON's length, or null.</param>
    /// <returns>The shape.</returns>
    public static CorpusFileShape ByIndex(long count, long firstIndex, int rank, long dataBytes, long? jsonBytes) =>
        new(count, firstIndex, rank, dataBytes, jsonBytes, DecimalNames.HeapBytesBelow(firstIndex + count) - DecimalNames.HeapBytesBelow(firstIndex));
}
