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
public sealed class PackedMatrix
{
    private readonly float[] _panels;

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

    /// <summary>Bytes held by the packed panels.</summary>
    public long SizeInBytes => (long)_panels.Length * sizeof(float);

    internal float[] Panels => _panels;

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
            return _panels[((long)p * Rows + k) * PanelWidth + (j - p * PanelWidth)];
        }
    }
}
