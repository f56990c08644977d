using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Elmo.Core;

/// <summary>
/// The dataset names of a merge of <c>--use-sentence-keys</c> parts: each part holds its names in byte order (its
/// local heap, and its symbol-table links in the same order), so the merged names are a k-way merge of the parts,
/// read as they are written; nothing is held per name.
/// </summary>
/// <param name="parts">The parts, in order.</param>
/// <param name="layout">The merged file's layout.</param>
internal sealed class MergedKeys(IReadOnlyList<PartFile> parts, CorpusFileLayout layout) : IGroupNames
{
    /// <inheritdoc/>
    public void WriteHeap(RegionWriter heap, CorpusFileLayout layout)
    {
        foreach (var (name, _) in Merge())
        {
            heap.Write(name);
            heap.WriteZeros(Hdf5Format.HeapNameSize(name.Length) - name.Length);
        }
    }

    /// <inheritdoc/>
    public IEnumerable<(long NameOffset, long Header)> Links(CorpusFileLayout layout)
    {
        long offset = 8;
        foreach (var (name, header) in Merge())
        {
            yield return (offset, header);
            offset += Hdf5Format.HeapNameSize(name.Length);
        }
    }

    /// <summary>Every name in byte order, with its dataset's header address in the merged file.</summary>
    private IEnumerable<(byte[] Name, long Header)> Merge()
    {
        var cursors = new List<Cursor>();
        var queue = new PriorityQueue<Cursor, byte[]>(Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b)));
        try
        {
            long before = 0;
            foreach (var part in parts)
            {
                var cursor = new Cursor(part, before, layout);
                cursors.Add(cursor);
                if (cursor.MoveNext()) queue.Enqueue(cursor, cursor.Name);
                before += part.Shape.Count;
            }
            while (queue.TryDequeue(out var cursor, out var name))
            {
                yield return (name, cursor.Header);
                if (cursor.MoveNext()) queue.Enqueue(cursor, cursor.Name);
            }
        }
        finally
        {
            foreach (var c in cursors) c.Dispose();
        }
    }

    /// <summary>One part's names in order: its heap read front to back, and its links for each name's dataset.</summary>
    private sealed class Cursor : IDisposable
    {
        private readonly PartFile _part;
        private readonly long _before;
        private readonly CorpusFileLayout _merged;
        private readonly SafeFileHandle _file;
        private readonly BufferedReader _heap;
        private readonly BufferedReader _links;
        private long _next;

        public Cursor(PartFile part, long before, CorpusFileLayout merged)
        {
            _part = part;
            _before = before;
            _merged = merged;
            _file = File.OpenHandle(part.Path, FileMode.Open, FileAccess.Read, FileShare.Read);
            _heap = new BufferedReader(_file, part.Layout.LocalHeapDataStart + 8);
            _links = new BufferedReader(_file, part.Layout.SnodStart);
        }

        public byte[] Name { get; private set; } = [];

        public long Header { get; private set; }

        public bool MoveNext()
        {
            if (_next == _part.Shape.Count) return false;
            var name = new List<byte>();
            for (byte b; (b = _heap.ReadByte()) != 0;) name.Add(b);
            _heap.Skip(Hdf5Format.HeapNameSize(name.Count) - name.Count - 1);
            var layout = _part.Layout;
            long node = _next / layout.SnodCapacity, entry = _next % layout.SnodCapacity;
            _links.Position = layout.SnodStart + node * layout.SnodSize + 8 + entry * Hdf5Format.SymbolEntrySize + 8;
            long header = _links.ReadInt64();
            long local = (header - layout.HeadersStart) / layout.DatasetHeaderSize;
            if (header < layout.HeadersStart || local >= _part.Shape.Count || (header - layout.HeadersStart) % layout.DatasetHeaderSize != 0)
            {
                throw PartFile.Bad(_part.Path, "is damaged: a link of its group points outside its datasets");
            }
            Name = [.. name];
            Header = _merged.HeaderAddress(_before + local);
            _next++;
            return true;
        }

        public void Dispose() => _file.Dispose();
    }

    /// <summary>Sequential reads at any position of a file, through a buffer.</summary>
    private sealed class BufferedReader(SafeFileHandle file, long position)
    {
        private readonly byte[] _buffer = new byte[1 << 16];
        private long _start = long.MinValue;
        private int _length;

        public long Position { get; set; } = position;

        public byte ReadByte()
        {
            if (Position < _start || Position >= _start + _length)
            {
                _start = Position;
                _length = RandomAccess.Read(file, _buffer, Position);
                if (_length <= 0) throw new IOException("A part ended while its names were being read.");
            }
            return _buffer[Position++ - _start];
        }

        public void Skip(long bytes) => Position += bytes;

        public long ReadInt64()
        {
            Span<byte> b = stackalloc byte[8];
            for (int i = 0; i < 8; i++) b[i] = ReadByte();
            return BinaryPrimitives.ReadInt64LittleEndian(b);
        }
    }
}
