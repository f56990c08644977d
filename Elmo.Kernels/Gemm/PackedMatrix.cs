using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Elmo.Kernels.Gemm;

/// <summary>
/// A constant right-hand matrix <c>B</c> (<c>K × N</c>, row-major) packed once into the panel layout of
/// the GEMM micro-kernel: panels of <see cref="PanelWidth"/> columns, each stored <c>k</c>-major
/// (<c>panel[k * PanelWidth + j]</c>), the last panel zero-padded. Immutable after construction and safe
/// to share between threads.
/// </summary>
/// <remarks>
/// <see cref="ToPrecision"/> makes a bfloat16 or int8 copy (<see cref="WeightPrecision"/>) in the same panel layout;
/// <see cref="Gemm"/> widens each panel block of such a matrix to float32 in a per-thread buffer just before the
/// micro-kernels use it, so a product reads half or a quarter of the bytes from memory and computes exactly what the
/// float32 product of the dequantised values computes (the same bits on every path).
/// </remarks>
public sealed class PackedMatrix
{
    private readonly float[] _panels;
    private readonly ushort[]? _bf16;
    private readonly sbyte[]? _int8;
    private readonly float[]? _scales;

    /// <summary>Packs the row-major <paramref name="rows"/> × <paramref name="columns"/> matrix <paramref name="source"/> for <paramref name="path"/>.</summary>
    /// <param name="source">Row-major <c>K × N</c> values; its row stride is <paramref name="columns"/>.</param>
    /// <param name="rows">K, the inner dimension of the product.</param>
    /// <param name="columns">N, the number of output columns.</param>
    /// <param name="path">The kernel path the panels are laid out for; defaults to <see cref="KernelPaths.Best"/>.</param>
    public PackedMatrix(ReadOnlySpan<float> source, int rows, int columns, KernelPath? path = null)
        : this(rows, columns, path)
    {
        if (source.Length < (long)rows * columns)
        {
            throw new ArgumentException($"Source holds {source.Length} values, expected {rows} × {columns}.", nameof(source));
        }

        for (int k = 0; k < rows; k++)
        {
            SetRow(k, source.Slice(k * columns, columns));
        }
    }

    /// <summary>Creates a zero matrix to be filled row by row with <see cref="SetRow"/> (for loaders that stream rows).</summary>
    /// <param name="rows">K, the inner dimension of the product.</param>
    /// <param name="columns">N, the number of output columns.</param>
    /// <param name="path">The kernel path the panels are laid out for; defaults to <see cref="KernelPaths.Best"/>.</param>
    public PackedMatrix(int rows, int columns, KernelPath? path = null)
        : this(rows, columns, path ?? KernelPaths.Best, requireHardware: true)
    {
    }

    /// <summary>
    /// With <paramref name="requireHardware"/> false, lays the matrix out for a path this machine does not
    /// accelerate: <see cref="Gemm"/> then runs that path's code on the runtime's software-emulated vectors
    /// (slow, but it checks the tiling of that path on any machine). For tests only.
    /// </summary>
    internal PackedMatrix(int rows, int columns, KernelPath path, bool requireHardware)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        Path = path;
        if (requireHardware) KernelPaths.EnsureSupported(Path);
        _ = KernelPaths.Width(Path);
        Rows = rows;
        Columns = columns;
        PanelWidth = 2 * KernelPaths.Width(Path);
        PanelCount = (columns + PanelWidth - 1) / PanelWidth;
        _panels = PanelMemory.Allocate((long)PanelCount * PanelWidth * rows);
    }

    /// <summary>
    /// A float32 matrix laid out in <paramref name="storage"/> (at least <c>PanelCount · PanelWidth · rows</c> floats;
    /// that prefix is cleared): a loader's reusable staging area, packed row by row and then converted with
    /// <see cref="ToPrecision"/>, so that a reduced-precision model never allocates its float32 matrices.
    /// </summary>
    internal PackedMatrix(int rows, int columns, float[] storage)
        : this(rows, columns, KernelPaths.Best, storage)
    {
    }

    private PackedMatrix(int rows, int columns, KernelPath path, float[] storage)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        Path = path;
        Rows = rows;
        Columns = columns;
        PanelWidth = 2 * KernelPaths.Width(Path);
        PanelCount = (columns + PanelWidth - 1) / PanelWidth;
        long length = (long)PanelCount * PanelWidth * rows;
        if (storage.LongLength < length) throw new ArgumentException($"Storage holds {storage.LongLength} floats, {length} needed.", nameof(storage));
        Array.Clear(storage, 0, (int)length);
        _panels = storage;
    }

    /// <summary>Floats of the layout (the fp32 panels may live in a longer staging array).</summary>
    private long Length => (long)PanelCount * PanelWidth * Rows;

    /// <summary>Floats a matrix of this shape needs on <see cref="KernelPaths.Best"/> (for staging areas).</summary>
    internal static long StorageLength(int rows, int columns)
    {
        int nr = 2 * KernelPaths.Width(KernelPaths.Best);
        return (long)((columns + nr - 1) / nr) * nr * rows;
    }

    /// <summary>A reduced-precision copy of <paramref name="source"/> (same path and layout).</summary>
    private PackedMatrix(PackedMatrix source, WeightPrecision precision)
    {
        Path = source.Path;
        Rows = source.Rows;
        Columns = source.Columns;
        PanelWidth = source.PanelWidth;
        PanelCount = source.PanelCount;
        Precision = precision;
        _panels = [];
        var from = source._panels;
        int nr = PanelWidth;
        long length = source.Length;
        if (precision == WeightPrecision.Bf16)
        {
            _bf16 = new ushort[length];
            for (long i = 0; i < length; i++) _bf16[i] = ToBf16(from[i]);
            return;
        }

        // int8: one scale per column (of B; an output row of the layer), from the column's largest magnitude.
        _int8 = new sbyte[length];
        _scales = new float[(long)PanelCount * nr];
        for (int p = 0; p < PanelCount; p++)
        {
            long panel = (long)p * Rows * nr;
            for (int j = 0; j < nr; j++)
            {
                float largest = 0;
                for (int k = 0; k < Rows; k++) largest = Math.Max(largest, Math.Abs(from[panel + (long)k * nr + j]));
                float scale = largest / 127f;
                _scales[(long)p * nr + j] = scale;
                if (scale == 0) continue; // a zero (or padding) column stays all zeros
                for (int k = 0; k < Rows; k++)
                {
                    long at = panel + (long)k * nr + j;
                    _int8[at] = (sbyte)Math.Clamp(MathF.Round(from[at] / scale), -127f, 127f);
                }
            }
        }
    }

    /// <summary>The nearest bfloat16 (ties to even) of a finite float.</summary>
    internal static ushort ToBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>
    /// A copy that stores its values in <paramref name="precision"/> (this matrix itself for <see cref="WeightPrecision.Fp32"/>).
    /// The copy is read-only: <see cref="SetRow"/> and <see cref="SetRows"/> refuse it.
    /// </summary>
    /// <param name="precision">The storage of the copy.</param>
    /// <returns>The copy, or this matrix.</returns>
    /// <exception cref="InvalidOperationException">This matrix is not float32.</exception>
    public PackedMatrix ToPrecision(WeightPrecision precision)
    {
        if (precision == Precision) return this;
        if (Precision != WeightPrecision.Fp32) throw new InvalidOperationException($"Only a float32 matrix can be converted; this one is {Precision}.");
        if (!Enum.IsDefined(precision)) throw new ArgumentOutOfRangeException(nameof(precision), precision, "Unknown precision.");
        return new PackedMatrix(this, precision);
    }

    /// <summary>Packs <paramref name="source"/> for <paramref name="path"/> even when the hardware lacks it (see the constructor above). For tests only.</summary>
    internal static PackedMatrix Emulated(ReadOnlySpan<float> source, int rows, int columns, KernelPath path)
    {
        var packed = new PackedMatrix(rows, columns, path, requireHardware: false);
        for (int k = 0; k < rows; k++) packed.SetRow(k, source.Slice(k * columns, columns));
        return packed;
    }

    /// <summary>K: rows of the packed matrix.</summary>
    public int Rows { get; }

    /// <summary>N: columns of the packed matrix.</summary>
    public int Columns { get; }

    /// <summary>The path the layout was made for; <see cref="Gemm"/> runs that path.</summary>
    public KernelPath Path { get; }

    /// <summary>Columns per panel (two vectors of <see cref="Path"/>).</summary>
    public int PanelWidth { get; }

    /// <summary>Number of panels (the last one may be zero-padded).</summary>
    public int PanelCount { get; }

    /// <summary>How the values are stored.</summary>
    public WeightPrecision Precision { get; }

    /// <summary>Bytes held by the packed panels (and the int8 scales).</summary>
    public long SizeInBytes => Precision switch
    {
        WeightPrecision.Bf16 => (long)_bf16!.Length * sizeof(ushort),
        WeightPrecision.Int8 => _int8!.LongLength + _scales!.LongLength * sizeof(float),
        _ => Length * sizeof(float),
    };

    internal float[] Panels => _panels;

    internal ushort[]? Bf16Panels => _bf16;

    internal sbyte[]? Int8Panels => _int8;

    internal float[]? Scales => _scales;

    /// <summary>Writes row <paramref name="k"/> of B (length <see cref="Columns"/>) into the panels.</summary>
    public void SetRow(int k, ReadOnlySpan<float> row)
    {
        if (row.Length != Columns)
        {
            throw new ArgumentException($"Row has {row.Length} values, expected {Columns}.", nameof(row));
        }
        SetRows(k, row, Columns, 0);
    }

    /// <summary>
    /// Writes a block of consecutive rows, or a column range of them, into the panels: <paramref name="rows"/> holds
    /// <c>rows.Length / width</c> row-major rows of <paramref name="width"/> values, which become rows
    /// <paramref name="k0"/>… of B in columns <paramref name="column0"/>…<paramref name="column0"/> + <paramref name="width"/> − 1.
    /// Lets a loader pack a large matrix block by block, or place two matrices side by side, without a full-size copy.
    /// </summary>
    /// <param name="k0">First row of B to write.</param>
    /// <param name="rows">The values, a whole number of rows of <paramref name="width"/>.</param>
    /// <param name="width">Values per row.</param>
    /// <param name="column0">First column of B the rows go to.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void SetRows(int k0, ReadOnlySpan<float> rows, int width, int column0)
    {
        if (Precision != WeightPrecision.Fp32) throw new InvalidOperationException($"A {Precision} matrix is read-only.");
        ArgumentOutOfRangeException.ThrowIfNegative(k0);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegative(column0);
        if (column0 + width > Columns) throw new ArgumentOutOfRangeException(nameof(width), width, $"Columns {column0}…{column0 + width - 1} lie outside the {Columns} columns.");
        if (rows.Length % width != 0) throw new ArgumentException($"{rows.Length} values are not a whole number of rows of {width}.", nameof(rows));
        int count = rows.Length / width;
        if (k0 + count > Rows) throw new ArgumentOutOfRangeException(nameof(k0), k0, $"Rows {k0}…{k0 + count - 1} lie outside the {Rows} rows.");

        int nr = PanelWidth;
        ref float src = ref MemoryMarshal.GetReference(rows);
        ref float panels = ref MemoryMarshal.GetArrayDataReference(_panels);
        // Panel by panel, so that the writes run sequentially through each panel.
        for (int j = column0; j < column0 + width;)
        {
            int p = j / nr, offset = j - p * nr;
            int segment = Math.Min(nr - offset, column0 + width - j);
            ref float dst = ref Unsafe.Add(ref panels, ((nint)p * Rows + k0) * nr + offset);
            ref float from = ref Unsafe.Add(ref src, j - column0);
            if (segment == nr && nr % Vector256<float>.Count == 0 && Vector256.IsHardwareAccelerated)
            {
                // A whole panel row (16 or 32 floats on the AVX paths) per row: vector moves, no call per row.
                for (int r = 0; r < count; r++)
                {
                    ref float a = ref Unsafe.Add(ref from, (nint)r * width);
                    ref float b = ref Unsafe.Add(ref dst, (nint)r * nr);
                    for (int c = 0; c < nr; c += Vector256<float>.Count)
                    {
                        Vector256.LoadUnsafe(ref a, (nuint)c).StoreUnsafe(ref b, (nuint)c);
                    }
                }
            }
            else
            {
                for (int r = 0; r < count; r++)
                {
                    MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref from, (nint)r * width), segment)
                        .CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref dst, (nint)r * nr), segment));
                }
            }
            j += segment;
        }
    }

    /// <summary>Reads element (<paramref name="k"/>, <paramref name="j"/>) back (for tests and diagnostics).</summary>
    public float this[int k, int j]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)k, (uint)Rows, nameof(k));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)j, (uint)Columns, nameof(j));
            int p = j / PanelWidth;
            long at = ((long)p * Rows + k) * PanelWidth + (j - p * PanelWidth);
            return Precision switch
            {
                WeightPrecision.Bf16 => BitConverter.UInt32BitsToSingle((uint)_bf16![at] << 16),
                WeightPrecision.Int8 => _int8![at] * _scales![(long)p * PanelWidth + (j - p * PanelWidth)],
                _ => _panels[at],
            };
        }
    }
}
