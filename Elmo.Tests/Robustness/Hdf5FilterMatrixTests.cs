using System.Diagnostics;
using System.Runtime.InteropServices;
using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Robustness;

/// <summary>
/// Our HDF5 reading against h5py's on every storage layout and filter h5py writes (<see cref="Hdf5FilterMatrix"/>):
/// the weight loader and <c>elmo compare</c> must read exactly what h5py reads, or refuse a filter they cannot
/// decode with a message naming it. Ignored, with the reason, when h5py is not installed.
/// </summary>
[TestFixture]
public class Hdf5FilterMatrixTests
{
    [Test]
    public void WeightFilesReadAsH5pyReadsThemInEveryLayoutAndFilter()
    {
        H5py.Require();
        using var dir = new TempDir();
        var watch = Stopwatch.StartNew();
        var cases = Hdf5FilterMatrix.WeightFiles(Reference.FixtureWeights, dir.Path);
        TestContext.Out.WriteLine($"{cases.Count} weight files generated in {watch.Elapsed.TotalSeconds:F1} s");
        var options = WeightVariants.FixtureOptions;
        var failures = new List<string>();
        foreach (var c in cases)
        {
            try
            {
                if (c.Refusal is { } word)
                {
                    var e = Assert.Throws<ElmoWeightsException>(() => ElmoWeights.Load(c.File, options), c.What)!;
                    if (!e.Message.Contains(word, StringComparison.Ordinal) || e.Dataset is null) failures.Add($"{c.What}: unclear refusal: {e.Message}");
                    continue;
                }
                var expected = ElmoWeights.Load(c.Expected, options);
                var actual = ElmoWeights.Load(c.File, options);
                if (WeightsComparer.FirstDifference(actual, expected) is { } where) failures.Add($"{c.What}: {where} differs from what h5py reads");
            }
            catch (Exception e) when (e is not AssertionException)
            {
                failures.Add($"{c.What}: {e.GetType().Name}: {e.Message}");
            }
        }
        TestContext.Out.WriteLine($"{cases.Count} cases checked in {watch.Elapsed.TotalSeconds:F1} s");
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    [Test]
    public void CompareReadsAsH5pyReadsInEveryLayoutFilterAndType()
    {
        H5py.Require();
        using var dir = new TempDir();
        var watch = Stopwatch.StartNew();
        var cases = Hdf5FilterMatrix.DatasetFiles(dir.Path);
        TestContext.Out.WriteLine($"{cases.Count} files generated in {watch.Elapsed.TotalSeconds:F1} s");
        var failures = new List<string>();
        foreach (var c in cases)
        {
            try
            {
                var results = Hdf5Comparison.Compare(c.File, c.Expected, atol: 0, rtol: 0).ToList();
                if (results.Count != 3) failures.Add($"{c.What}: {results.Count} datasets compared, expected 3");
                foreach (var r in results)
                {
                    bool ok = c.Refusal is null ? r.IsMatch : r.IsMatch || (r.Status == ComparisonStatus.NotComparable && (r.Detail ?? "").Contains(c.Refusal, StringComparison.Ordinal));
                    if (!ok) failures.Add($"{c.What}, dataset {r.Name}: {r.Status} {r.Detail} (max diff {r.MaxAbsDiff})");
                }
            }
            catch (Exception e)
            {
                failures.Add($"{c.What}: {e.GetType().Name}: {e.Message}");
            }
        }
        TestContext.Out.WriteLine($"{cases.Count} cases checked in {watch.Elapsed.TotalSeconds:F1} s");
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }
}

/// <summary>Bitwise comparison of two sets of loaded weights.</summary>
internal static class WeightsComparer
{
    /// <summary>The first part of <paramref name="a"/> that differs from <paramref name="b"/>, or null when all are equal bit for bit.</summary>
    public static string? FirstDifference(ElmoWeights a, ElmoWeights b)
    {
        var parts = new List<(string Name, float[] A, float[] B)> { ("char_embed", a.CharEmbedding, b.CharEmbedding) };
        for (int i = 0; i < a.Convolutions.Length; i++)
        {
            parts.Add(($"CNN/W_cnn_{i}", a.Convolutions[i].Kernel.Panels, b.Convolutions[i].Kernel.Panels));
            parts.Add(($"CNN/b_cnn_{i}", a.Convolutions[i].Bias, b.Convolutions[i].Bias));
        }
        for (int i = 0; i < a.Highways.Length; i++)
        {
            parts.Add(($"CNN_high_{i} W", a.Highways[i].TransformAndCarry.Panels, b.Highways[i].TransformAndCarry.Panels));
            parts.Add(($"CNN_high_{i} b", a.Highways[i].Bias, b.Highways[i].Bias));
        }
        if (a.Projection is not null) parts.Add(("CNN_proj/W_proj", a.Projection.Panels, b.Projection!.Panels));
        if (a.ProjectionBias is not null) parts.Add(("CNN_proj/b_proj", a.ProjectionBias, b.ProjectionBias!));
        for (int d = 0; d < a.Lstm.Length; d++)
        {
            for (int l = 0; l < a.Lstm[d].Length; l++)
            {
                var (x, y) = (a.Lstm[d][l], b.Lstm[d][l]);
                parts.Add(($"RNN_{d} Cell{l} W_0 (input rows)", x.Input.Panels, y.Input.Panels));
                parts.Add(($"RNN_{d} Cell{l} W_0 (recurrent rows)", x.Recurrent.Panels, y.Recurrent.Panels));
                parts.Add(($"RNN_{d} Cell{l} B", x.Bias, y.Bias));
                parts.Add(($"RNN_{d} Cell{l} W_P_0", x.Projection.Panels, y.Projection.Panels));
            }
        }
        foreach (var (name, x, y) in parts)
        {
            if (!MemoryMarshal.AsBytes(x.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(y.AsSpan()))) return name;
        }
        return null;
    }
}
