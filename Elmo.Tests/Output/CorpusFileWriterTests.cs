using System.Text;
using System.Text.Json;
using Elmo.Core;
using Elmo.Tests.Cli;
using Elmo.Tests.Support;
using PureHDF;

namespace Elmo.Tests.Output;

/// <summary>
/// The streaming HDF5 writer of corpus files, read back by h5py (libhdf5) and PureHDF: every dataset found by name
/// with its shape and values, in groups deep enough to need several B-tree levels, with names by index and by
/// sentence (any bytes, any length), empty datasets, an empty file, and the sentence_to_index string.
/// </summary>
public class CorpusFileWriterTests
{
    /// <summary>Writes datasets of <paramref name="tokens"/>[i] tokens × <paramref name="dim"/> values, value k of dataset i = 16 i + k (exact in float32).</summary>
    private static void Write(string path, int[] tokens, int dim, string? json, IGroupNames? keys, int leafK = Hdf5Format.DefaultLeafK, int internalK = Hdf5Format.DefaultInternalK, long firstIndex = 0)
    {
        long dataBytes = tokens.Sum(t => (long)t * dim * 4);
        var shape = keys is SentenceKeys k
            ? new CorpusFileShape(tokens.Length, firstIndex, 2, dataBytes, null, k.HeapBytes)
            : CorpusFileShape.ByIndex(tokens.Length, firstIndex, 2, dataBytes, json is null ? null : Encoding.ASCII.GetByteCount(json));
        var layout = new CorpusFileLayout(shape, leafK, internalK);
        using var file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
        var writer = new CorpusFileWriter(file, layout, 1, dim);
        long offset = 0;
        for (int i = 0; i < tokens.Length; i++)
        {
            writer.AppendHeader(offset, tokens[i]);
            writer.WriteValues(offset, Values(i, tokens[i], dim));
            offset += (long)tokens[i] * dim * 4;
        }
        if (json is not null) writer.AppendJson(Encoding.ASCII.GetBytes(json));
        writer.Finish(keys ?? new IndexNames(firstIndex, tokens.Length), []);
    }

    private static float[] Values(int i, int tokens, int dim) =>
        Enumerable.Range(0, tokens * dim).Select(k => 16f * i + k).ToArray();

    [TestCase(Hdf5Format.DefaultLeafK, Hdf5Format.DefaultInternalK, 20_000)]
    [TestCase(1, 1, 3_000)]
    [TestCase(2, 3, 1_000)]
    public void EveryDatasetIsFoundByNameInH5py(int leafK, int internalK, int count)
    {
        ChildProcess.RequireH5py();
        using var dir = new TempDir();
        string path = dir.File("many.hdf5");
        int[] tokens = Enumerable.Range(0, count).Select(i => i % 4).ToArray();
        string json = "{\"a \\\"b\\\"\": \"0\", \"\\u00e9\": \"1\"}";
        Write(path, tokens, 2, json, null, leafK, internalK);

        var (exit, text) = ChildProcess.Python($$"""
            import h5py, numpy as np
            f = h5py.File({{JsonSerializer.Serialize(path)}}, "r")
            names = list(f.keys())
            assert names == sorted(names, key=lambda s: s.encode()), "links in byte order"
            assert len(names) == {{count}} + 1, len(names)
            for i in range({{count}}):
                d = f[str(i)]
                t = i % 4
                assert d.shape == (t, 2) and d.dtype == np.float32, (i, d.shape, d.dtype)
                if t:
                    v = d[()]
                    assert v[t - 1, 1] == 16 * i + 2 * t - 1, (i, v)
            assert f["sentence_to_index"][0].decode() == {{JsonSerializer.Serialize(json)}}
            assert "missing" not in f and str({{count}}) not in f
            print("ok")
            """);
        Assert.That(exit, Is.EqualTo(0), text);
        Assert.That(text.Trim(), Is.EqualTo("ok"));
    }

    [Test]
    public void PureHdfReadsTheSameFile()
    {
        using var dir = new TempDir();
        string path = dir.File("few.hdf5");
        int[] tokens = Enumerable.Range(0, 700).Select(i => i % 5).ToArray();
        Write(path, tokens, 3, "{\"x\": \"699\"}", null, leafK: 2, internalK: 2);

        using var f = H5File.OpenRead(path);
        Assert.That(f.Children().Count(), Is.EqualTo(701));
        foreach (int i in new[] { 0, 1, 4, 99, 123, 698, 699 })
        {
            var ds = f.Dataset(i.ToString());
            Assert.That(ds.Space.Dimensions, Is.EqualTo(new ulong[] { (ulong)tokens[i], 3 }), $"dataset {i}");
            if (tokens[i] > 0) Assert.That(ds.Read<float[]>(), Is.EqualTo(Values(i, tokens[i], 3)), $"dataset {i}");
        }
        Assert.That(CliHarness.ReadString(path, "sentence_to_index"), Is.EqualTo("{\"x\": \"699\"}"));
    }

    [Test]
    public void PartOfARangeIsNamedByItsIndices()
    {
        ChildProcess.RequireH5py();
        using var dir = new TempDir();
        string path = dir.File("part.hdf5");
        Write(path, [1, 2, 0, 3, 1], 2, null, null, leafK: 1, internalK: 1, firstIndex: 98);
        var (exit, text) = ChildProcess.Python($$"""
            import h5py
            f = h5py.File({{JsonSerializer.Serialize(path)}}, "r")
            print(list(f.keys()), [f[k].shape[0] for k in ["98", "99", "100", "101", "102"]])
            """);
        Assert.That(exit, Is.EqualTo(0), text);
        Assert.That(text.Trim(), Is.EqualTo("['100', '101', '102', '98', '99'] [1, 2, 0, 3, 1]"));
    }

    [Test]
    public void SentenceNamesOfAnyBytesAndLengthAreFoundInH5pyAndPureHdf()
    {
        ChildProcess.RequireH5py();
        using var dir = new TempDir();
        string path = dir.File("keys.hdf5");
        var random = new Random(5);
        var names = new List<string> { "b", "a", "ab", "a b", "é", "\u00ff", "日本", "😀 emoji", new string('x', 70_000), new string('y', 65_533), "sentence_to_index" };
        for (int i = 0; i < 500; i++) names.Add($"w{random.Next()} {i}");
        var keys = new SentenceKeys();
        for (int i = 0; i < names.Count; i++) Assert.That(keys.TryAdd(names[i], i, i + 1, out _), Is.True);
        Assert.That(keys.Sort(), Is.Null);
        int[] tokens = names.Select((_, i) => 1 + i % 3).ToArray();
        Write(path, tokens, 2, null, keys, leafK: 3, internalK: 2);

        string list = dir.Write("names.json", JsonSerializer.Serialize(names));
        var (exit, text) = ChildProcess.Python($$"""
            import h5py, json
            names = json.load(open({{JsonSerializer.Serialize(list)}}, encoding="utf-8"))
            f = h5py.File({{JsonSerializer.Serialize(path)}}, "r")
            assert sorted(f.keys(), key=lambda s: s.encode()) == list(f.keys())
            assert set(f.keys()) == set(names)
            for i, n in enumerate(names):
                assert f[n].shape == (1 + i % 3, 2), (n[:20], f[n].shape)
                assert f[n][0, 0] == 16 * i, (n[:20], f[n][0, 0])
            print("ok")
            """);
        Assert.That(exit, Is.EqualTo(0), text);
        Assert.That(text.Trim(), Is.EqualTo("ok"));

        using var h = H5File.OpenRead(path);
        foreach (int i in new[] { 0, 4, 6, 8, 9, 10, 300 })
        {
            Assert.That(h.Dataset(names[i]).Read<float[]>()[0], Is.EqualTo(16f * i), names[i][..Math.Min(20, names[i].Length)]);
        }
    }

    [Test]
    public void AFileWithoutDatasetsOpensEverywhere()
    {
        ChildProcess.RequireH5py();
        using var dir = new TempDir();
        string empty = dir.File("empty.hdf5"), map = dir.File("map.hdf5");
        Write(empty, [], 4, null, null);
        Write(map, [], 4, "{}", null);
        using (var f = H5File.OpenRead(empty)) Assert.That(f.Children(), Is.Empty);
        Assert.That(CliHarness.ReadString(map, "sentence_to_index"), Is.EqualTo("{}"));
        var (exit, text) = ChildProcess.Python($$"""
            import h5py
            print(len(h5py.File({{JsonSerializer.Serialize(empty)}}, "r")), list(h5py.File({{JsonSerializer.Serialize(map)}}, "r").keys()))
            """);
        Assert.That(exit, Is.EqualTo(0), text);
        Assert.That(text.Trim(), Is.EqualTo("0 ['sentence_to_index']"));
    }

    [Test]
    public void RootAttributesAreReadBack()
    {
        ChildProcess.RequireH5py();
        using var dir = new TempDir();
        string path = dir.File("attrs.hdf5");
        var layout = new CorpusFileLayout(CorpusFileShape.ByIndex(1, 0, 2, 8, null));
        using (var file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite))
        {
            var writer = new CorpusFileWriter(file, layout, 1, 2);
            writer.AppendHeader(0, 1);
            writer.WriteValues(0, [1f, 2f]);
            writer.Finish(new IndexNames(0, 1), [("elmo_part", Encoding.UTF8.GetBytes("{\"k\": \"é\"}")), ("empty", [])]);
        }
        var (exit, text) = ChildProcess.Python($$"""
            import h5py
            f = h5py.File({{JsonSerializer.Serialize(path)}}, "r")
            print(f.attrs["elmo_part"].decode("utf-8"), repr(f.attrs["empty"]), f["0"][()].tolist())
            """);
        Assert.That(exit, Is.EqualTo(0), text);
        Assert.That(text.Trim(), Is.EqualTo("{\"k\": \"é\"} b'' [[1.0, 2.0]]"));
        using var h = H5File.OpenRead(path);
        Assert.That(h.Attribute("elmo_part").Read<string>(), Is.EqualTo("{\"k\": \"é\"}"));
    }

    [Test]
    public void DecimalNamesWalkTheTrieInByteOrder()
    {
        for (long end = 0; end < 260; end += 7)
        {
            for (long first = 0; first <= end; first += 5)
            {
                var expected = Enumerable.Range((int)first, (int)(end - first)).Select(i => (long)i)
                    .OrderBy(i => i.ToString(), StringComparer.Ordinal).ToArray();
                Assert.That(DecimalNames.InNameOrder(first, end).ToArray(), Is.EqualTo(expected), $"[{first}, {end})");
            }
        }
        Assert.That(DecimalNames.HeapBytesBelow(0), Is.Zero);
        Assert.That(DecimalNames.HeapBytesBelow(10_000_001), Is.EqualTo(10_000_000 * 8L + 16));
        long sum = 0;
        for (int i = 0; i < 1234; i++) sum += Hdf5Format.HeapNameSize(i.ToString().Length);
        Assert.That(DecimalNames.HeapBytesBelow(1234), Is.EqualTo(sum));
    }
}
