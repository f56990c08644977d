using Elmo.Core;
using Elmo.Tests.Robustness;
using Elmo.Tests.Support;
using PureHDF;

namespace Elmo.Tests.Warm;

/// <summary>Warm-state files of other element types, and the warm-state cache key.</summary>
public class WarmStateFileTests
{
    private static (float[] Hidden, float[] Cell, LstmOptions Options) SavedState()
    {
        var model = Reference.TinyModel;
        var state = WarmStart.Compute(model, [["A", "warm", "up", "."]]);
        var o = model.Options.Lstm;
        var hidden = new float[o.Layers * 2 * o.ProjectionDim];
        var cell = new float[o.Layers * 2 * o.CellDim];
        for (int i = 0; i < o.Layers * 2; i++)
        {
            state.Hidden[i].CopyTo(hidden, i * o.ProjectionDim);
            state.Cell[i].CopyTo(cell, i * o.CellDim);
        }
        return (hidden, cell, o);
    }

    private static void Write(string path, Array hidden, Array cell, LstmOptions o) =>
        new H5File
        {
            ["hidden"] = new H5Dataset(hidden, fileDims: [(ulong)o.Layers, 2, (ulong)o.ProjectionDim]),
            ["cell"] = new H5Dataset(cell, fileDims: [(ulong)o.Layers, 2, (ulong)o.CellDim]),
        }.Write(path);

    private static float[] Flat(LstmState s, bool hidden)
    {
        var parts = hidden ? s.Hidden : s.Cell;
        return parts.SelectMany(p => p.ToArray()).ToArray();
    }

    [TestCase("int32")]
    [TestCase("int8")]
    [TestCase("uint16")]
    [TestCase("int64")]
    public void IntegerDatasetsAreRefusedNotReadAsFloatBits(string type)
    {
        var (hidden, cell, o) = SavedState();
        Array Convert(float[] a) => type switch
        {
            "int32" => a.Select(v => (int)(v * 100)).ToArray(),
            "int8" => a.Select(v => (sbyte)(v * 100)).ToArray(),
            "uint16" => a.Select(v => (ushort)Math.Abs(v * 100)).ToArray(),
            _ => a.Select(v => (long)(v * 100)).ToArray(),
        };
        using var dir = new TempDir();
        string path = dir.File("int.hdf5");
        Write(path, Convert(hidden), Convert(cell), o);
        var e = Assert.Throws<ElmoInputException>(() => WarmStart.Load(path, o))!;
        Assert.That(e.Message, Does.Contain(path).And.Contain($"holds {type} values").And.Contain("'hidden'"));
    }

    [Test]
    public void Float64AndFloat16StatesLoadLikeWeightFiles()
    {
        var (hidden, cell, o) = SavedState();
        using var dir = new TempDir();
        string wide = dir.File("f64.hdf5"), half = dir.File("f16.hdf5");
        Write(wide, hidden.Select(v => (double)v).ToArray(), cell.Select(v => (double)v).ToArray(), o);
        Write(half, hidden.Select(v => (Half)v).ToArray(), cell.Select(v => (Half)v).ToArray(), o);

        var fromWide = WarmStart.Load(wide, o);
        Assert.That(Flat(fromWide, true), Is.EqualTo(hidden), "float64 holding float32 values is exact");
        Assert.That(Flat(fromWide, false), Is.EqualTo(cell));
        var fromHalf = WarmStart.Load(half, o);
        Assert.That(Flat(fromHalf, true), Is.EqualTo(hidden.Select(v => (float)(Half)v).ToArray()), "float16 is widened exactly");
        Assert.That(Flat(fromHalf, false), Is.EqualTo(cell.Select(v => (float)(Half)v).ToArray()));
    }

    [Test]
    public void TheCacheKeyCoversEveryByteOfTheWeightFile()
    {
        using var dir = new TempDir();
        string weights = dir.File("weights.hdf5");
        var bytes = new byte[3 << 20];
        new Random(3).NextBytes(bytes);
        File.WriteAllBytes(weights, bytes);
        string key = WarmStateCache.PathFor(Reference.TinyModel, weights, dir.Path);
        Assert.That(WarmStateCache.PathFor(Reference.TinyModel, weights, dir.Path), Is.EqualTo(key), "stable");
        foreach (int at in new[] { bytes.Length / 2, (1 << 20) + 1, bytes.Length - (1 << 20) - 1 })
        {
            // Edited in place: same size, same first and last MiB.
            bytes[at] ^= 1;
            File.WriteAllBytes(weights, bytes);
            Assert.That(WarmStateCache.PathFor(Reference.TinyModel, weights, dir.Path), Is.Not.EqualTo(key), $"byte {at} changed");
            bytes[at] ^= 1;
        }
    }
}
