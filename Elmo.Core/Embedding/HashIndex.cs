namespace Elmo.Core;

/// <summary>
/// A map from 128-bit hashes to 62-bit numbers in one array of 24-byte slots (open addressing, linear probing,
/// at most three quarters full): 32–64 bytes per entry and one object whatever the count, so the garbage collector
/// never walks it. <see cref="SentenceIndexMap"/> keeps one entry per distinct sentence in it.
/// </summary>
internal sealed class HashIndex
{
    private Slot[] _slots = new Slot[1024];

    /// <summary>Entries held.</summary>
    public int Count { get; private set; }

    /// <summary>Bytes the table takes.</summary>
    public long Bytes => (long)_slots.Length * 24;

    /// <summary>The value stored under <paramref name="key"/>.</summary>
    /// <param name="key">The hash.</param>
    /// <param name="value">Its value, or 0.</param>
    /// <returns>Whether the key is present.</returns>
    public bool TryGetValue(UInt128 key, out long value)
    {
        var k = Normalize(key);
        int mask = _slots.Length - 1;
        for (int i = (int)(ulong)k & mask; ; i = (i + 1) & mask)
        {
            ref var s = ref _slots[i];
            if (s.Low == 0 && s.High == 0)
            {
                value = 0;
                return false;
            }
            if (s.Low == (ulong)k && s.High == (ulong)(k >> 64))
            {
                value = s.Value;
                return true;
            }
        }
    }

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/>, adding or replacing.</summary>
    /// <param name="key">The hash.</param>
    /// <param name="value">The value.</param>
    public void Set(UInt128 key, long value)
    {
        if (4L * (Count + 1) > 3L * _slots.Length) Grow();
        var k = Normalize(key);
        int mask = _slots.Length - 1;
        for (int i = (int)(ulong)k & mask; ; i = (i + 1) & mask)
        {
            ref var s = ref _slots[i];
            if (s.Low == 0 && s.High == 0)
            {
                s = new Slot((ulong)k, (ulong)(k >> 64), value);
                Count++;
                return;
            }
            if (s.Low == (ulong)k && s.High == (ulong)(k >> 64))
            {
                s.Value = value;
                return;
            }
        }
    }

    /// <summary>Zero marks an empty slot, so a zero hash is stored as 1 (it merely joins that hash's bucket).</summary>
    private static UInt128 Normalize(UInt128 key) => key == UInt128.Zero ? UInt128.One : key;

    private void Grow()
    {
        var old = _slots;
        _slots = new Slot[old.Length * 2];
        Count = 0;
        foreach (var s in old)
        {
            if (s.Low != 0 || s.High != 0) Set(new UInt128(s.High, s.Low), s.Value);
        }
    }

    private struct Slot(ulong low, ulong high, long value)
    {
        public ulong Low = low;
        public ulong High = high;
        public long Value = value;
    }
}
