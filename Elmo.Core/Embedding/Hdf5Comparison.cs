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
        // Both files are checked before anything is compared: a damaged, cyclic or crafted file fails at once.
        var scanA = Scan(first);
        var scanB = Scan(second);
        Hdf5Filters.Register();
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
        return Iterate(a, b, scanA, scanB, first, second, atol, rtol);
    }

    /// <summary>
    /// Bytes of data a dataset may declare per byte of its file (deflate's best ratio is about 1032:1), below which any
    /// size is accepted: a tiny file declaring 10^12 values is refused at once instead of being compared for hours.
    /// </summary>
    private const ulong MaxExpansion = 1100;

    /// <summary>Datasets up to this many bytes are compared whatever the file's size (sparse chunked datasets, fill values).</summary>
    private const ulong AlwaysComparableBytes = 1UL << 30;

    private static Hdf5Scan Scan(string path)
    {
        if (!File.Exists(path))
        {
            throw new ElmoInputException(Directory.Exists(path) ? $"'{path}' is a directory, not an HDF5 file." : $"HDF5 file '{path}' does not exist.") { FilePath = path };
        }
        Hdf5Scan scan;
        try
        {
            scan = Hdf5Scan.Run(path);
        }
        catch (Hdf5FormatException e) when (e.NotHdf5)
        {
            throw new ElmoInputException($"'{path}' is not a readable HDF5 file ({e.Message}).", e) { FilePath = path };
        }
        catch (Hdf5FormatException e)
        {
            throw new ElmoInputException($"'{path}' is damaged: {e.Message}.", e) { FilePath = path };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ElmoInputException($"'{path}' cannot be read ({e.Message}).", e) { FilePath = path };
        }
        ulong length = (ulong)new FileInfo(path).Length;
        foreach (var d in scan.Datasets)
        {
            ulong bytes = d.LogicalBytes;
            if (bytes > AlwaysComparableBytes && bytes / MaxExpansion > length)
            {
                throw new ElmoInputException($"'{path}': dataset '{d.Path}' declares {d.ElementCount} values ({bytes} bytes) in a file of {length} bytes, more than any HDF5 compression can hold; the file is damaged or crafted.") { FilePath = path };
            }
        }
        return scan;
    }

    private static IEnumerable<DatasetComparison> Iterate(NativeFile a, NativeFile b, Hdf5Scan scanA, Hdf5Scan scanB, string first, string second, double atol, double rtol)
    {
        using (a)
        using (b)
        {
            var inA = Datasets(a, scanA, first);
            var inB = Datasets(b, scanB, second);
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
        try
        {
            return H5File.OpenRead(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ElmoInputException($"'{path}' is not a readable HDF5 file ({e.Message}).", e) { FilePath = path };
        }
    }

    /// <summary>
    /// Every dataset, each once under its first name (hard links only, as h5py's <c>visititems</c> walks a file; soft
    /// and external links are not followed). PureHDF's objects are taken from one listing per group (a lookup by name
    /// costs as much as listing a large old-style group), descending only into the groups the scan named.
    /// </summary>
    private static Dictionary<string, (NativeDataset Dataset, Hdf5DatasetFacts Facts)> Datasets(NativeFile file, Hdf5Scan scan, string path)
    {
        var wanted = scan.Datasets.ToDictionary(d => d.Path, StringComparer.Ordinal);
        var result = new Dictionary<string, (NativeDataset, Hdf5DatasetFacts)>(StringComparer.Ordinal);
        try
        {
            var pending = new Stack<(NativeGroup Group, string Prefix)>();
            pending.Push((file, ""));
            while (pending.Count > 0)
            {
                var (group, prefix) = pending.Pop();
                foreach (var child in group.Children())
                {
                    string name = prefix + child.Name;
                    if (child is NativeDataset ds && wanted.TryGetValue(name, out var facts)) result.TryAdd(name, (ds, facts));
                    else if (child is NativeGroup g && scan.GroupPaths.Contains(name)) pending.Push((g, name + "/"));
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException and not ElmoException)
        {
            throw new ElmoInputException($"Cannot list the datasets of '{path}' ({Hdf5Errors.Describe(e)}).", e) { FilePath = path };
        }
        foreach (var missing in wanted.Keys.Where(k => !result.ContainsKey(k)))
        {
            throw new ElmoInputException($"Cannot list the datasets of '{path}' (dataset '{missing}' is not reachable through its group).") { FilePath = path };
        }
        return result;
    }

    private static DatasetComparison CompareOne(string name, (NativeDataset Dataset, Hdf5DatasetFacts Facts) a, (NativeDataset Dataset, Hdf5DatasetFacts Facts) b, string first, string second, double atol, double rtol)
    {
        try
        {
            ulong[] shapeA = a.Facts.Dims, shapeB = b.Facts.Dims;
            var (ta, tb) = (a.Facts.Element, b.Facts.Element);
            bool numericA = IsNumeric(ta), numericB = IsNumeric(tb);
            bool textA = IsText(ta), textB = IsText(tb);
            if (numericA != numericB || textA != textB)
            {
                return new DatasetComparison(name, ComparisonStatus.TypeMismatch, null, 0, 0, $"types {ta.Describe()} vs {tb.Describe()}");
            }
            if (!numericA && !textA)
            {
                return new DatasetComparison(name, ComparisonStatus.NotComparable, null, 0, 0, $"type {ta.Describe()} is not compared");
            }
            if (!shapeA.SequenceEqual(shapeB))
            {
                return new DatasetComparison(name, ComparisonStatus.ShapeMismatch, null, 0, 0, $"shapes ({string.Join(", ", shapeA)}) vs ({string.Join(", ", shapeB)})");
            }
            foreach (var (facts, file) in new[] { (a.Facts, first), (b.Facts, second) })
            {
                if (facts.Unreadable is { } why) return new DatasetComparison(name, ComparisonStatus.NotComparable, null, 0, 0, $"cannot be read in {file}: {why}");
            }
            return textA ? CompareText(name, a.Dataset, b.Dataset) : CompareNumbers(name, a, b, shapeA, atol, rtol);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new DatasetComparison(name, ComparisonStatus.NotComparable, null, 0, 0, $"cannot be read ({Hdf5Errors.Describe(e)}) in {first} or {second}");
        }
    }

    private static DatasetComparison CompareText(string name, NativeDataset a, NativeDataset b)
    {
        string[] sa = a.Read<string[]>(), sb = b.Read<string[]>();
        long differing = sa.Zip(sb).LongCount(p => !string.Equals(p.First, p.Second, StringComparison.Ordinal));
        return new DatasetComparison(name, differing == 0 ? ComparisonStatus.Match : ComparisonStatus.Mismatch, null, differing, sa.Length,
            differing == 0 ? null : $"{differing} of {sa.Length} string(s) differ");
    }

    private static DatasetComparison CompareNumbers(string name, (NativeDataset Dataset, Hdf5DatasetFacts Facts) a, (NativeDataset Dataset, Hdf5DatasetFacts Facts) b, ulong[] shape, double atol, double rtol)
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
            Hdf5Values.ReadDoubles(a.Dataset, a.Facts.Element, selection, bufA.AsSpan(0, n));
            Hdf5Values.ReadDoubles(b.Dataset, b.Facts.Element, selection, bufB.AsSpan(0, n));
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

    /// <summary>Fixed-length strings, and variable-length strings (h5py's <c>special_dtype(vlen=str)</c>, AllenNLP's <c>sentence_to_index</c>); other variable-length data fails to read as strings and is reported not comparable.</summary>
    private static bool IsText(Hdf5Element t) => t.Class is 3 or 9;

    /// <summary>IEEE floats (16, 32, 64 bits) and integers (8 to 64 bits), in either byte order.</summary>
    private static bool IsNumeric(Hdf5Element t) => t.IsFloat || t.IsInteger;

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
