using PureHDF;
using PureHDF.Selections;
using PureHDF.VOL.Native;

namespace Elmo.Core;

/// <summary>The verdict on one dataset of an HDF5 comparison.</summary>
public enum ComparisonStatus
{
    /// <summary>Same shape, and every element within tolerance (or equal strings).</summary>
    Match,

    /// <summary>Same shape, but some element is out of tolerance (or NaN), or the strings differ.</summary>
    Mismatch,

    /// <summary>The shapes differ.</summary>
    ShapeMismatch,

    /// <summary>One is numeric and the other text, or another incompatible pair of types.</summary>
    TypeMismatch,

    /// <summary>The dataset exists only in the second file.</summary>
    MissingInFirst,

    /// <summary>The dataset exists only in the first file.</summary>
    MissingInSecond,

    /// <summary>A type that cannot be compared (compound, opaque, reference, …).</summary>
    NotComparable,
}

/// <summary>The comparison of one dataset.</summary>
/// <param name="Name">The dataset's path in the file (<c>grp/name</c> for nested groups).</param>
/// <param name="Status">The verdict.</param>
/// <param name="MaxAbsDiff">Largest absolute difference over all elements (NaN when an element is NaN in one file only); null when not compared numerically.</param>
/// <param name="Violations">Elements out of tolerance.</param>
/// <param name="Elements">Elements compared.</param>
/// <param name="Detail">Shapes or types that differ, or why the dataset was not compared.</param>
public sealed record DatasetComparison(string Name, ComparisonStatus Status, double? MaxAbsDiff, long Violations, long Elements, string? Detail)
{
    /// <summary>Whether the dataset matches.</summary>
    public bool IsMatch => Status == ComparisonStatus.Match;
}

/// <summary>
/// Compares every dataset of two HDF5 files, as <c>numpy.allclose(a, b, rtol, atol)</c> does element by element:
/// <c>|a − b| ≤ atol + rtol · |b|</c>, the second file being the reference; NaN never matches; equal infinities do.
/// Numeric datasets of any integer or floating-point type are compared as float64, read in bounded chunks; string
/// datasets must be equal. Datasets are visited in natural order (<c>"2"</c> before <c>"10"</c>), groups recursively.
/// </summary>
public static class Hdf5Comparison
{
    /// <summary>Elements read at a time per file.</summary>
    private const int ChunkElements = 1 << 20;

    /// <summary>Compares <paramref name="first"/> against <paramref name="second"/>.</summary>
    /// <param name="first">The file under test.</param>
    /// <param name="second">The reference.</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="rtol">Relative tolerance (of the reference value).</param>
    /// <returns>One comparison per dataset name found in either file, streamed.</returns>
    /// <exception cref="ElmoInputException">A file is missing or not HDF5.</exception>
    public static IEnumerable<DatasetComparison> Compare(string first, string second, double atol = 1e-6, double rtol = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (!(atol >= 0) || !(rtol >= 0)) throw new ArgumentOutOfRangeException(nameof(atol), "Tolerances must be non-negative numbers.");
        var a = Open(first);
        NativeFile b;
        try
        {
            b = Open(second);
        }
        catch
        {
            a.Dispose();
            throw;
        }
        return Iterate(a, b, first, second, atol, rtol);
    }

    private static IEnumerable<DatasetComparison> Iterate(NativeFile a, NativeFile b, string first, string second, double atol, double rtol)
    {
        using (a)
        using (b)
        {
            var inA = Datasets(a, first);
            var inB = Datasets(b, second);
            foreach (string name in inA.Keys.Union(inB.Keys).Order(NaturalComparer.Instance))
            {
                if (!inB.TryGetValue(name, out var db))
                {
                    yield return new DatasetComparison(name, ComparisonStatus.MissingInSecond, null, 0, 0, $"only in {first}");
                    continue;
                }
                if (!inA.TryGetValue(name, out var da))
                {
                    yield return new DatasetComparison(name, ComparisonStatus.MissingInFirst, null, 0, 0, $"only in {second}");
                    continue;
                }
                yield return CompareOne(name, da, db, first, second, atol, rtol);
            }
        }
    }

    private static NativeFile Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new ElmoInputException(Directory.Exists(path) ? $"'{path}' is a directory, not an HDF5 file." : $"HDF5 file '{path}' does not exist.") { FilePath = path };
        }
        try
        {
            return H5File.OpenRead(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ElmoInputException($"'{path}' is not a readable HDF5 file ({e.Message}).", e) { FilePath = path };
        }
    }

    private static Dictionary<string, NativeDataset> Datasets(NativeFile file, string path)
    {
        var result = new Dictionary<string, NativeDataset>(StringComparer.Ordinal);
        try
        {
            Walk(file, "");
        }
        catch (Exception e) when (e is not OutOfMemoryException and not ElmoException)
        {
            throw new ElmoInputException($"Cannot list the datasets of '{path}' ({e.Message}).", e) { FilePath = path };
        }
        return result;

        void Walk(NativeGroup group, string prefix)
        {
            foreach (var child in group.Children())
            {
                string name = prefix + child.Name;
                if (child is NativeDataset ds) result[name] = ds;
                else if (child is NativeGroup g) Walk(g, name + "/");
            }
        }
    }

    private static DatasetComparison CompareOne(string name, NativeDataset a, NativeDataset b, string first, string second, double atol, double rtol)
    {
        try
        {
            ulong[] shapeA = a.Space.Dimensions, shapeB = b.Space.Dimensions;
            bool numericA = IsNumeric(a.Type), numericB = IsNumeric(b.Type);
            bool textA = IsText(a.Type), textB = IsText(b.Type);
            if (numericA != numericB || textA != textB)
            {
                return new DatasetComparison(name, ComparisonStatus.TypeMismatch, null, 0, 0, $"types {Describe(a.Type)} vs {Describe(b.Type)}");
            }
            if (!numericA && !textA)
            {
                return new DatasetComparison(name, ComparisonStatus.NotComparable, null, 0, 0, $"type {Describe(a.Type)} is not compared");
            }
            if (!shapeA.SequenceEqual(shapeB))
            {
                return new DatasetComparison(name, ComparisonStatus.ShapeMismatch, null, 0, 0, $"shapes ({string.Join(", ", shapeA)}) vs ({string.Join(", ", shapeB)})");
            }
            return textA ? CompareText(name, a, b) : CompareNumbers(name, a, b, shapeA, atol, rtol);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new DatasetComparison(name, ComparisonStatus.NotComparable, null, 0, 0, $"cannot be read ({e.Message}) in {first} or {second}");
        }
    }

    private static DatasetComparison CompareText(string name, NativeDataset a, NativeDataset b)
    {
        string[] sa = a.Read<string[]>(), sb = b.Read<string[]>();
        long differing = sa.Zip(sb).LongCount(p => !string.Equals(p.First, p.Second, StringComparison.Ordinal));
        return new DatasetComparison(name, differing == 0 ? ComparisonStatus.Match : ComparisonStatus.Mismatch, null, differing, sa.Length,
            differing == 0 ? null : $"{differing} of {sa.Length} string(s) differ");
    }

    private static DatasetComparison CompareNumbers(string name, NativeDataset a, NativeDataset b, ulong[] shape, double atol, double rtol)
    {
        long total = 1;
        foreach (ulong d in shape) total = checked(total * (long)d);
        long rowElements = 1;
        for (int i = 1; i < shape.Length; i++) rowElements = checked(rowElements * (long)shape[i]);
        // Whole rows of the first dimension per chunk (at least one), or the whole dataset when it is scalar or small.
        bool whole = shape.Length == 0 || total <= ChunkElements || rowElements == 0;
        long rowsPerChunk = whole ? 1 : Math.Max(1, ChunkElements / rowElements);
        int bufferLength = (int)(whole ? total : rowsPerChunk * rowElements);
        var bufA = new double[bufferLength];
        var bufB = new double[bufferLength];

        double maxDiff = 0;
        long violations = 0;
        for (long row = 0; whole ? row == 0 : row < (long)shape[0]; row += whole ? 1 : rowsPerChunk)
        {
            Selection? selection = null;
            int n = bufferLength;
            if (!whole)
            {
                long rows = Math.Min(rowsPerChunk, (long)shape[0] - row);
                var starts = new ulong[shape.Length];
                var blocks = (ulong[])shape.Clone();
                starts[0] = (ulong)row;
                blocks[0] = (ulong)rows;
                selection = new HyperslabSelection(shape.Length, starts, blocks);
                n = (int)(rows * rowElements);
            }
            ReadAsDouble(a, bufA.AsSpan(0, n), selection);
            ReadAsDouble(b, bufB.AsSpan(0, n), selection);
            for (int i = 0; i < n; i++)
            {
                double x = bufA[i], y = bufB[i];
                double diff = x == y ? 0 : Math.Abs(x - y);
                if (double.IsNaN(diff))
                {
                    maxDiff = double.NaN;
                    violations++;
                    continue;
                }
                if (!double.IsNaN(maxDiff) && diff > maxDiff) maxDiff = diff;
                if (diff > atol + rtol * Math.Abs(y)) violations++;
            }
            if (whole) break;
        }
        return new DatasetComparison(name, violations == 0 ? ComparisonStatus.Match : ComparisonStatus.Mismatch, maxDiff, violations, total,
            violations == 0 ? null : $"{violations} of {total} element(s) out of tolerance");
    }

    private static void ReadAsDouble(NativeDataset ds, Span<double> destination, Selection? selection)
    {
        var t = ds.Type;
        if (t.Class == H5DataTypeClass.FloatingPoint && t.Size == 8)
        {
            ds.Read(destination, fileSelection: selection);
            return;
        }
        switch (t.Class, t.Size, t.Class == H5DataTypeClass.FixedPoint && t.FixedPoint.IsSigned)
        {
            case (H5DataTypeClass.FloatingPoint, 4, _): Convert<float>(ds, destination, selection, v => v); break;
            case (H5DataTypeClass.FixedPoint, 1, true): Convert<sbyte>(ds, destination, selection, v => v); break;
            case (H5DataTypeClass.FixedPoint, 1, false): Convert<byte>(ds, destination, selection, v => v); break;
            case (H5DataTypeClass.FixedPoint, 2, true): Convert<short>(ds, destination, selection, v => v); break;
            case (H5DataTypeClass.FixedPoint, 2, false): Convert<ushort>(ds, destination, selection, v => v); break;
            case (H5DataTypeClass.FixedPoint, 4, true): Convert<int>(ds, destination, selection, v => v); break;
            case (H5DataTypeClass.FixedPoint, 4, false): Convert<uint>(ds, destination, selection, v => v); break;
            case (H5DataTypeClass.FixedPoint, 8, true): Convert<long>(ds, destination, selection, v => v); break;
            case (H5DataTypeClass.FixedPoint, 8, false): Convert<ulong>(ds, destination, selection, v => v); break;
            default: throw new NotSupportedException($"numeric type {Describe(t)}");
        }
    }

    private static void Convert<T>(NativeDataset ds, Span<double> destination, Selection? selection, Func<T, double> convert) where T : unmanaged
    {
        var buffer = new T[destination.Length];
        ds.Read(buffer.AsSpan(), fileSelection: selection);
        for (int i = 0; i < buffer.Length; i++) destination[i] = convert(buffer[i]);
    }

    /// <summary>Fixed-length strings, and variable-length strings (h5py's <c>special_dtype(vlen=str)</c>, AllenNLP's <c>sentence_to_index</c>); other variable-length data fails to read as strings and is reported not comparable.</summary>
    private static bool IsText(IH5DataType t) =>
        t.Class is H5DataTypeClass.String or H5DataTypeClass.VariableLength;

    private static bool IsNumeric(IH5DataType t) =>
        (t.Class == H5DataTypeClass.FloatingPoint && t.Size is 4 or 8) || (t.Class == H5DataTypeClass.FixedPoint && t.Size is 1 or 2 or 4 or 8);

    private static string Describe(IH5DataType t) => t.Class switch
    {
        H5DataTypeClass.FloatingPoint => $"float{t.Size * 8}",
        H5DataTypeClass.FixedPoint => $"{(t.FixedPoint.IsSigned ? "int" : "uint")}{t.Size * 8}",
        H5DataTypeClass.String => "string",
        H5DataTypeClass.VariableLength when IsText(t) => "string",
        _ => t.Class.ToString().ToLowerInvariant(),
    };

    /// <summary>Orders names with digit runs compared by value: "2" &lt; "10", "a2" &lt; "a10".</summary>
    private sealed class NaturalComparer : IComparer<string>
    {
        public static readonly NaturalComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            if (x is null || y is null) return string.CompareOrdinal(x, y);
            int i = 0, j = 0;
            while (i < x.Length && j < y.Length)
            {
                if (char.IsAsciiDigit(x[i]) && char.IsAsciiDigit(y[j]))
                {
                    int si = i, sj = j;
                    while (i < x.Length && char.IsAsciiDigit(x[i])) i++;
                    while (j < y.Length && char.IsAsciiDigit(y[j])) j++;
                    var dx = x.AsSpan(si, i - si).TrimStart('0');
                    var dy = y.AsSpan(sj, j - sj).TrimStart('0');
                    int c = dx.Length != dy.Length ? dx.Length.CompareTo(dy.Length) : dx.SequenceCompareTo(dy);
                    if (c != 0) return c;
                }
                else
                {
                    int c = x[i].CompareTo(y[j]);
                    if (c != 0) return c;
                    i++;
                    j++;
                }
            }
            int rest = (x.Length - i).CompareTo(y.Length - j);
            return rest != 0 ? rest : string.CompareOrdinal(x, y);
        }
    }
}
