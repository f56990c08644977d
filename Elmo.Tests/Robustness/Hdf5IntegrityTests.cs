using System.Diagnostics;
using Elmo.Core;
using Elmo.Tests.Cli;
using Elmo.Tests.Support;
using PureHDF;

namespace Elmo.Tests.Robustness;

/// <summary>
/// Damaged and hostile HDF5 files given as weights, warm states or <c>elmo compare</c> inputs: metadata checksums,
/// link cycles, chunk layouts and declared sizes that cannot be right. Each is one clear error, never different
/// vectors, a crash, a hang or gigabytes of memory.
/// </summary>
[TestFixture]
public class Hdf5IntegrityTests
{
    private static ElmoOptions Options => WeightVariants.FixtureOptions;

    /// <summary>The fixture weights written by PureHDF, as <c>elmo make-model</c> writes: superblock v3, version-2 object headers.</summary>
    private static string V2Copy(TempDir dir)
    {
        string path = dir.File("v2.hdf5");
        WeightVariants.WriteModified(path, e => e);
        Assert.That(File.ReadAllBytes(path)[8], Is.EqualTo(3).Or.EqualTo(2), "PureHDF writes superblock v2/v3");
        return path;
    }

    [Test]
    public void ABitFlippedInAnyChecksummedStructureOfAV2FileIsAChecksumError()
    {
        using var dir = new TempDir();
        byte[] original = File.ReadAllBytes(V2Copy(dir));
        var ranges = V2Metadata.ChecksummedRanges(original);
        Assert.That(ranges.Count, Is.GreaterThan(20), "the superblock and one object header per group and dataset");
        string path = dir.File("flipped.hdf5");
        foreach (var (start, length) in ranges)
        {
            // the middle of the structure, and the checksum itself
            foreach (int at in new[] { start + length / 2, start + length - 1 })
            {
                byte[] bytes = (byte[])original.Clone();
                bytes[at] ^= 0x10;
                File.WriteAllBytes(path, bytes);
                var e = Assert.Throws<ElmoWeightsException>(() => ElmoWeights.Load(path, Options), $"flip at {at} in [{start}, {start + length})")!;
                Assert.That(e.Message, Does.Contain("checksum").And.Contain(path), $"flip at {at}");
            }
        }
    }

    [Test]
    public void AV2FileLoadsExactlyAsTheOriginal()
    {
        using var dir = new TempDir();
        var weights = ElmoWeights.Load(V2Copy(dir), Options);
        Assert.That(WeightsComparer.FirstDifference(weights, Reference.TinyModel.Weights), Is.Null);
    }

    /// <summary>Our filters replace PureHDF's process-wide for reading; a host application compressing its own files with PureHDF is unaffected.</summary>
    [Test]
    public void PureHdfStillWritesCompressedFilesAfterAWeightFileWasRead()
    {
        ElmoWeights.Load(Reference.FixtureWeights, Options);
        using var dir = new TempDir();
        string path = dir.File("compressed.hdf5");
        var data = Enumerable.Range(0, 1000).Select(i => MathF.Sin(i)).ToArray();
        var creation = new PureHDF.VOL.Native.H5DatasetCreation(Filters: [PureHDF.Filters.ShuffleFilter.Id, PureHDF.Filters.DeflateFilter.Id, PureHDF.Filters.Fletcher32Filter.Id]);
        new H5File { ["x"] = new H5Dataset(data, chunks: [128], datasetCreation: creation) }.Write(path);
        using var f = H5File.OpenRead(path);
        Assert.That(f.Dataset("x").Read<float[]>(), Is.EqualTo(data));
        var written = Hdf5Comparison.Compare(path, path, 0, 0).Single();
        Assert.That(written.IsMatch, Is.True, written.Detail);
    }

    /// <summary>
    /// A byte flipped inside each B-tree v2 node, fractal heap block and fixed/extensible-array chunk index block of an
    /// h5py <c>libver='latest'</c> file (dense link and attribute storage, resizable datasets): <c>elmo compare</c>
    /// against the intact file either refuses the damaged one or finds every dataset identical.
    /// </summary>
    [Test]
    public void FlipsInV2IndexesAndHeapsAreRefusedOrHarmless()
    {
        using var dir = new TempDir();
        string path = dir.File("latest.hdf5");
        H5py.Run("""
            import h5py, sys, numpy as np
            rng = np.random.default_rng(5)
            with h5py.File(sys.argv[1], 'w', libver='latest') as f:
                g = f.create_group('many')
                for i in range(20):
                    g.create_dataset(f'd{i}', data=rng.standard_normal(7).astype('f4'))
                for i in range(12):
                    g.attrs[f'a{i}'] = i
                f.create_dataset('fixed', data=rng.standard_normal((40, 30)).astype('f4'), chunks=(4, 3), compression='gzip')
                f.create_dataset('paged', data=rng.standard_normal(5000).astype('f4'), chunks=(2,))
                f.create_dataset('extensible', data=rng.standard_normal((300, 5)).astype('f4'), chunks=(2, 5), maxshape=(None, 5), fletcher32=True)
                f.create_dataset('btree', data=rng.standard_normal((30, 20)).astype('f4'), chunks=(3, 4), maxshape=(None, None), compression='gzip')
            """, path);
        byte[] original = File.ReadAllBytes(path);
        var baseline = Hdf5Comparison.Compare(path, path, 0, 0).ToList();
        Assert.That(baseline.All(c => c.IsMatch) && baseline.Count == 24, Is.True, string.Join("\n", baseline));
        string damaged = dir.File("damaged.hdf5");
        var seen = new Dictionary<string, int>();
        foreach (string signature in new[] { "BTHD", "BTIN", "BTLF", "FRHP", "FHIB", "FHDB", "FAHD", "FADB", "EAHD", "EAIB", "EASB", "EADB" })
        {
            var sig = System.Text.Encoding.ASCII.GetBytes(signature);
            for (int at = original.AsSpan().IndexOf(sig); at >= 0; at = original.AsSpan(at + 4).IndexOf(sig) is int n && n >= 0 ? at + 4 + n : -1)
            {
                seen[signature] = seen.GetValueOrDefault(signature) + 1;
                foreach (int offset in new[] { 5, 9 })
                {
                    byte[] bytes = (byte[])original.Clone();
                    bytes[at + offset] ^= 0x04;
                    File.WriteAllBytes(damaged, bytes);
                    try
                    {
                        var result = Hdf5Comparison.Compare(damaged, path, 0, 0).ToList();
                        Assert.That(result.Select(r => (r.Name, r.IsMatch)), Is.EqualTo(baseline.Select(r => (r.Name, true))), $"{signature} at {at}+{offset}: read differently");
                    }
                    catch (ElmoInputException e)
                    {
                        Assert.That(e.Message, Does.Contain(damaged), $"{signature} at {at}+{offset}");
                    }
                }
            }
        }
        TestContext.Out.WriteLine(string.Join(", ", seen.Select(kv => $"{kv.Key} {kv.Value}")));
        Assert.That(seen.Keys, Is.SupersetOf(new[] { "BTHD", "BTLF", "FRHP", "FHDB", "FAHD", "FADB", "EAHD", "EAIB" }), "the file has every kind of structure");
    }

    // ---- link cycles --------------------------------------------------------------------------------------

    /// <summary>The fixture's datasets with the group <paramref name="group"/> replaced by a soft link to <paramref name="target"/>, plus <paramref name="extra"/> links at the root.</summary>
    private static void WriteWithSoftLinks(string path, string? group, string? target, params (string Name, string Target)[] extra)
    {
        var file = new H5File();
        foreach (var e in WeightVariants.FixtureEntries().Where(e => group is null || !e.Name.StartsWith(group + "/", StringComparison.Ordinal)))
        {
            var parts = e.Name.Split('/');
            H5Group g = file;
            for (int i = 0; i < parts.Length - 1; i++)
            {
                if (!g.TryGetValue(parts[i], out var child))
                {
                    child = new H5Group();
                    g[parts[i]] = child;
                }
                g = (H5Group)child;
            }
            g[parts[^1]] = new H5Dataset(e.Data, fileDims: e.Dims);
        }
        if (group is not null) file[group] = new H5SoftLink(target!);
        foreach (var (name, t) in extra) file[name] = new H5SoftLink(t);
        file.Write(path);
    }

    [TestCase("CNN_proj", "/CNN_proj")]
    [TestCase("CNN_proj", "CNN_proj/W_proj")]
    [TestCase("CNN", "/CNN/W_cnn_0")]
    public void ASoftLinkLoopOnTheWayToAWeightIsOneClearError(string group, string target)
    {
        using var dir = new TempDir();
        string path = dir.File("loop.hdf5");
        WriteWithSoftLinks(path, group, target);
        var e = Assert.Throws<ElmoWeightsException>(() => ElmoWeights.Load(path, Options))!;
        Assert.That(e.Message, Does.Contain("link cycle").And.Contain(path).And.Contain($"'{group}'"));
    }

    [Test]
    public void ASoftLinkLoopAnywhereInTheFileIsRefused()
    {
        using var dir = new TempDir();
        string path = dir.File("loop.hdf5");
        WriteWithSoftLinks(path, null, null, ("a", "/b"), ("b", "/a/x"));
        Assert.That(Assert.Throws<ElmoWeightsException>(() => ElmoWeights.Load(path, Options))!.Message, Does.Contain("link cycle"));
        Assert.That(Assert.Throws<ElmoInputException>(() => Hdf5Comparison.Compare(path, Reference.FixtureWeights).ToList())!.Message, Does.Contain("link cycle").And.Contain(path));
    }

    [Test]
    public void ADanglingSoftLinkIsNotAnError()
    {
        using var dir = new TempDir();
        string path = dir.File("dangling.hdf5");
        WriteWithSoftLinks(path, null, null, ("nowhere", "/no/such/group"));
        Assert.That(WeightsComparer.FirstDifference(ElmoWeights.Load(path, Options), Reference.TinyModel.Weights), Is.Null);
    }

    [Test]
    public void AWarmStateWithASoftLinkLoopIsOneClearError()
    {
        using var dir = new TempDir();
        string path = dir.File("warm.hdf5");
        new H5File { ["hidden"] = new H5SoftLink("/cell"), ["cell"] = new H5SoftLink("/hidden") }.Write(path);
        var lstm = Options.Lstm; // outside Assert.Throws, so that missing reference data skips the test
        var e = Assert.Throws<ElmoInputException>(() => WarmStart.Load(path, lstm))!;
        Assert.That(e.Message, Does.Contain("link cycle").And.Contain(path));
    }

    [Test]
    public void HardLinkCyclesAreOneClearError()
    {
        using var dir = new TempDir();
        string path = dir.File("cycle.hdf5");
        H5py.Run($$"""
            import h5py, sys
            src, dst = sys.argv[1], sys.argv[2]
            with h5py.File(src, 'r') as f, h5py.File(dst, 'w') as g:
                for k in f:
                    f.copy(k, g)
                g['CNN/loop'] = g['CNN']
                g['RNN_0/RNN/up'] = g['RNN_0']
            """, Reference.FixtureWeights, path);
        var e = Assert.Throws<ElmoWeightsException>(() => ElmoWeights.Load(path, Options))!;
        Assert.That(e.Message, Does.Contain("link cycle").And.Contain("CNN/loop"));
        var c = Assert.Throws<ElmoInputException>(() => Hdf5Comparison.Compare(path, path).ToList())!;
        Assert.That(c.Message, Does.Contain("link cycle"));
    }

    [Test]
    public void CompareRefusesACycleInOneLine()
    {
        using var dir = new TempDir();
        string path = dir.File("loop.hdf5");
        WriteWithSoftLinks(path, "CNN_proj", "/CNN_proj");
        var result = CliHarness.Run("compare", path, Reference.FixtureWeights);
        Assert.That(result.Exit, Is.EqualTo(1));
        Assert.That(result.Err.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(result.Err, Does.Contain("link cycle"));
        var info = CliHarness.Run("info", "--options", Reference.FixtureOptions, "--weights", path);
        Assert.That(info.Exit, Is.EqualTo(1));
        Assert.That(info.Err, Does.Contain("link cycle"));
    }

    // ---- declared sizes -------------------------------------------------------------------------------------

    /// <summary>
    /// The fixture with <c>char_embed</c> stored as one gzip chunk whose declared shape is then patched to 2^26 × 4
    /// (a 1 GiB chunk for 4 KB of data), as a crafted file would: the loader must refuse it without allocating it.
    /// </summary>
    [Test]
    public void AChunkFarLargerThanItsDatasetIsRefusedBeforeAnythingIsAllocated()
    {
        using var dir = new TempDir();
        string path = dir.File("crafted.hdf5");
        H5py.Run("""
            import h5py, sys, struct
            src, dst = sys.argv[1], sys.argv[2]
            with h5py.File(src, 'r') as f, h5py.File(dst, 'w', libver='earliest') as g:
                for n in ['char_embed']:
                    g.create_dataset(n, data=f[n][()], chunks=f[n].shape, compression='gzip', maxshape=(None, f[n].shape[1]))
                def copy(name, o):
                    if isinstance(o, h5py.Dataset) and name != 'char_embed':
                        g.create_dataset(name, data=o[()])
                f.visititems(copy)
            data = bytearray(open(dst, 'rb').read())
            old = struct.pack('<III', 261, 4, 4)
            assert data.count(old) == 1, data.count(old)
            data[data.index(old):data.index(old) + 12] = struct.pack('<III', 1 << 26, 4, 4)
            open(dst, 'wb').write(data)
            """, Reference.FixtureWeights, path);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ElmoWeightsException>(() => ElmoWeights.Load(path, Options))!;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(e.Message, Does.Contain("char_embed").And.Contain("larger than the dataset"));
        Assert.That(allocated, Is.LessThan(64L << 20), "bytes allocated while refusing the file");
        var c = Assert.Throws<ElmoInputException>(() => Hdf5Comparison.Compare(path, Reference.FixtureWeights).ToList())!;
        Assert.That(c.Message, Does.Contain("larger than the dataset"));
    }

    [TestCase("contiguous")]
    [TestCase("chunked")]
    public void CompareOfTinyFilesDeclaringATrillionValuesFailsFast(string layout)
    {
        using var dir = new TempDir();
        string a = dir.File("a.hdf5"), b = dir.File("b.hdf5");
        H5py.Run("""
            import h5py, sys
            for p in sys.argv[2:]:
                with h5py.File(p, 'w') as f:
                    if sys.argv[1] == 'chunked':
                        f.create_dataset('x', shape=(10**12,), dtype='f4', chunks=(1 << 16,))
                    else:
                        f.create_dataset('x', shape=(10**12,), dtype='f4')
            """, layout, a, b);
        Assert.That(new FileInfo(a).Length, Is.LessThan(10_000));
        var watch = Stopwatch.StartNew();
        var task = Task.Run(() =>
        {
            try
            {
                Hdf5Comparison.Compare(a, b).ToList();
                return null;
            }
            catch (Exception x)
            {
                return x;
            }
        });
        Assert.That(task.Wait(TimeSpan.FromSeconds(30)), Is.True, "no result within 30 s");
        var e = (task.Result as ElmoInputException)!;
        Assert.That(e, Is.Not.Null, "an input error");
        Assert.That(e.Message, Does.Contain("1000000000000 values").And.Contain("'x'"));
        TestContext.Out.WriteLine($"{watch.Elapsed.TotalMilliseconds:F0} ms: {e.Message}");
    }

    [Test]
    public void ContiguousDataPastTheEndOfTheFileIsRefused()
    {
        using var dir = new TempDir();
        string path = dir.File("cut.hdf5");
        byte[] original = File.ReadAllBytes(Reference.FixtureWeights);
        // Cut inside the data of the last datasets but keep all the metadata (h5py files keep it at the front).
        File.WriteAllBytes(path, original.AsSpan(0, original.Length - 1000).ToArray());
        var e = Assert.Throws<ElmoWeightsException>(() => ElmoWeights.Load(path, Options))!;
        Assert.That(e.Message, Does.Contain("past the end"));
    }
}
