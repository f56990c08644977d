using System.Text;

namespace Elmo.Core;

/// <summary>
/// The dataset names of <c>--use-sentence-keys</c>: every sentence as the UTF-8 bytes HDF5 stores (a lone surrogate
/// becomes U+FFFD, so two sentences that differ only there collide and are refused), held in large blocks without one
/// object per sentence, checked for duplicates as they come, and written to the heap and the symbol table in byte order.
/// </summary>
internal sealed class SentenceKeys : IGroupNames
{
    private const int BlockSize = 1 << 20;

    private readonly List<byte[]> _blocks = [];
    private HashIndex? _byHash = new();
    private Key[] _keys = new Key[1024];
    private int _count;
    private int _blockUsed = BlockSize;
    private bool _sorted;

    /// <summary>Keys held.</summary>
    public int Count => _count;

    /// <summary>Bytes the names take in a local heap (each NUL-terminated, padded to 8).</summary>
    public long HeapBytes { get; private set; }

    /// <summary>Adds the name of the dataset at position <paramref name="local"/> of the file.</summary>
    /// <param name="text">The sentence.</param>
    /// <param name="local">Its position in the file.</param>
    /// <param name="line">Its line in the input (for messages).</param>
    /// <param name="earlier">When the name is taken: the line that took it, and whether either sentence had a lone surrogate.</param>
    /// <returns>False when an earlier sentence has the same name.</returns>
    public bool TryAdd(string text, long local, long line, out (long Line, bool Lossy) earlier)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        bool lossy = HasLoneSurrogate(text);
        var hash = SipHash128.Hash(utf8);
        if (_byHash!.TryGetValue(hash, out long other) && Bytes(_keys[other]).SequenceEqual(utf8))
        {
            earlier = (_keys[other].Line, lossy || _keys[other].Lossy);
            return false;
        }
        if (_blockUsed + utf8.Length > BlockSize)
        {
            _blocks.Add(new byte[Math.Max(BlockSize, utf8.Length)]);
            _blockUsed = 0;
        }
        utf8.CopyTo(_blocks[^1].AsSpan(_blockUsed));
        if (_count == _keys.Length) Array.Resize(ref _keys, _count * 2);
        _keys[_count] = new Key(_blocks.Count - 1, _blockUsed, utf8.Length, local, line, lossy);
        if (!_byHash.TryGetValue(hash, out _)) _byHash.Set(hash, _count);
        _count++;
        _blockUsed += utf8.Length;
        HeapBytes += Hdf5Format.HeapNameSize(utf8.Length);
        _sorted = false;
        earlier = default;
        return true;
    }

    /// <summary>Whether a sentence outside the file has the name of one inside it.</summary>
    /// <param name="text">The sentence.</param>
    /// <param name="inside">The line of the sentence inside, and whether either had a lone surrogate.</param>
    /// <returns>True when the name is taken.</returns>
    public bool Collides(string text, out (long Line, bool Lossy) inside)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        if (_byHash is null) throw new InvalidOperationException("The keys are sorted; the hash index is gone.");
        if (_byHash.TryGetValue(SipHash128.Hash(utf8), out long other) && Bytes(_keys[other]).SequenceEqual(utf8))
        {
            inside = (_keys[other].Line, HasLoneSurrogate(text) || _keys[other].Lossy);
            return true;
        }
        inside = default;
        return false;
    }

    /// <summary>Sorts the names into byte order (the order of the heap and of the symbol table); the hash index is dropped.</summary>
    /// <returns>The lines of two sentences with the same name, if any (a check that does not rely on the hashes).</returns>
    public (long First, long Second)? Sort()
    {
        _byHash = null;
        Array.Sort(_keys, 0, _count, Comparer<Key>.Create((a, b) => Bytes(a).SequenceCompareTo(Bytes(b))));
        _sorted = true;
        for (int i = 1; i < _count; i++)
        {
            if (Bytes(_keys[i - 1]).SequenceEqual(Bytes(_keys[i]))) return (Math.Min(_keys[i - 1].Line, _keys[i].Line), Math.Max(_keys[i - 1].Line, _keys[i].Line));
        }
        return null;
    }

    /// <inheritdoc/>
    public void WriteHeap(RegionWriter heap, CorpusFileLayout layout)
    {
        if (!_sorted) throw new InvalidOperationException("Sort the keys first.");
        for (int i = 0; i < _count; i++)
        {
            var name = Bytes(_keys[i]);
            heap.Write(name);
            heap.WriteZeros(Hdf5Format.HeapNameSize(name.Length) - name.Length);
        }
    }

    /// <inheritdoc/>
    public IEnumerable<(long NameOffset, long Header)> Links(CorpusFileLayout layout)
    {
        long offset = 8;
        for (int i = 0; i < _count; i++)
        {
            yield return (offset, layout.HeaderAddress(_keys[i].Local));
            offset += Hdf5Format.HeapNameSize(_keys[i].Length);
        }
    }

    private ReadOnlySpan<byte> Bytes(Key k) => _blocks[k.Block].AsSpan(k.Start, k.Length);

    private static bool HasLoneSurrogate(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(text[i])) return true;
        }
        return false;
    }

    private readonly record struct Key(int Block, int Start, int Length, long Local, long Line, bool Lossy);
}
