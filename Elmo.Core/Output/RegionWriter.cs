using Microsoft.Win32.SafeHandles;

namespace Elmo.Core;

/// <summary>Writes a region of a file front to back through a buffer (positional writes: several regions of one file can be written side by side).</summary>
internal sealed class RegionWriter
{
    private readonly SafeFileHandle _file;
    private readonly byte[] _buffer;
    private long _flushed;
    private int _used;

    /// <summary>Starts writing at <paramref name="start"/>.</summary>
    /// <param name="file">The file.</param>
    /// <param name="start">Where the region starts.</param>
    /// <param name="bufferSize">Bytes buffered between writes.</param>
    public RegionWriter(SafeFileHandle file, long start, int bufferSize = 1 << 20)
    {
        _file = file;
        _flushed = start;
        _buffer = new byte[bufferSize];
    }

    /// <summary>The address the next byte goes to.</summary>
    public long Position => _flushed + _used;

    /// <summary>Appends bytes.</summary>
    /// <param name="data">The bytes.</param>
    public void Write(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            if (_used == _buffer.Length) Flush();
            if (_used == 0 && data.Length >= _buffer.Length)
            {
                RandomAccess.Write(_file, data, _flushed);
                _flushed += data.Length;
                return;
            }
            int n = Math.Min(data.Length, _buffer.Length - _used);
            data[..n].CopyTo(_buffer.AsSpan(_used));
            _used += n;
            data = data[n..];
        }
    }

    /// <summary>Appends one byte.</summary>
    /// <param name="b">The byte.</param>
    public void WriteByte(byte b)
    {
        if (_used == _buffer.Length) Flush();
        _buffer[_used++] = b;
    }

    /// <summary>Appends <paramref name="count"/> zero bytes.</summary>
    /// <param name="count">How many.</param>
    public void WriteZeros(long count)
    {
        while (count > 0)
        {
            if (_used == _buffer.Length) Flush();
            int n = (int)Math.Min(count, _buffer.Length - _used);
            _buffer.AsSpan(_used, n).Clear();
            _used += n;
            count -= n;
        }
    }

    /// <summary>A span of <paramref name="size"/> bytes at the end of the buffer to fill in place (cleared), then appended.</summary>
    /// <param name="size">Bytes (at most the buffer's size).</param>
    /// <returns>The span, valid until the next call.</returns>
    public Span<byte> Reserve(int size)
    {
        if (_buffer.Length - _used < size) Flush();
        var span = _buffer.AsSpan(_used, size);
        span.Clear();
        _used += size;
        return span;
    }

    /// <summary>Writes what is buffered.</summary>
    public void Flush()
    {
        if (_used == 0) return;
        RandomAccess.Write(_file, _buffer.AsSpan(0, _used), _flushed);
        _flushed += _used;
        _used = 0;
    }
}
