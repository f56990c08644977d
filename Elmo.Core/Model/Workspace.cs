namespace Elmo.Core;

/// <summary>
/// Scratch buffers of one caller, grown on demand and reused from call to call, so that a forward pass
/// allocates nothing per time step and, once warmed up, nothing per batch of the same size.
/// </summary>
internal sealed class Workspace
{
    private readonly Dictionary<string, float[]> _floats = new();
    private readonly Dictionary<string, int[]> _ints = new();

    /// <summary>A buffer of at least <paramref name="length"/> floats; contents are unspecified.</summary>
    public Span<float> Floats(string slot, long length)
    {
        if (!_floats.TryGetValue(slot, out var buffer) || buffer.Length < length)
        {
            buffer = new float[Math.Max(length, 16)];
            _floats[slot] = buffer;
        }
        return buffer.AsSpan(0, (int)length);
    }

    /// <summary>A buffer of at least <paramref name="length"/> ints; contents are unspecified.</summary>
    public Span<int> Ints(string slot, long length)
    {
        if (!_ints.TryGetValue(slot, out var buffer) || buffer.Length < length)
        {
            buffer = new int[Math.Max(length, 16)];
            _ints[slot] = buffer;
        }
        return buffer.AsSpan(0, (int)length);
    }

    /// <summary>Bytes currently held.</summary>
    public long SizeInBytes => _floats.Values.Sum(b => b.LongLength * 4) + _ints.Values.Sum(b => b.LongLength * 4);

    /// <summary>Drops every buffer (after an unusually large batch).</summary>
    public void Clear()
    {
        _floats.Clear();
        _ints.Clear();
    }
}
