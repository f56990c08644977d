using Elmo.Core;
using Elmo.Tests.Support;
using PureHDF;

namespace Elmo.Tests.Robustness;

/// <summary>A temporary directory deleted with everything in it on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "elmo-robust-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A mount point left busy by a failed test; the OS cleans /tmp.
        }
    }
}

/// <summary>Builds variants of the tiny fixture's weight file: a dataset removed, reshaped, retyped or poisoned.</summary>
internal static class WeightVariants
{
    /// <summary>One dataset to write: its data (any array PureHDF writes) and file dimensions.</summary>
    public sealed record Entry(string Name, Array Data, ulong[] Dims);

    private static readonly Lazy<ElmoOptions> LazyOptions = new(() => ElmoOptions.Load(Reference.FixtureOptions));

    public static ElmoOptions FixtureOptions => LazyOptions.Value;

    /// <summary>Every dataset of the fixture weight file as float32, in the bilm-tf layout order.</summary>
    public static List<Entry> FixtureEntries()
    {
        using var file = H5File.OpenRead(Reference.FixtureWeights);
        var entries = new List<Entry>();
        foreach (var (name, _) in RandomWeights.Layout(FixtureOptions))
        {
            var ds = file.Dataset(name);
            entries.Add(new Entry(name, ds.Read<float[]>(), ds.Space.Dimensions));
        }
        return entries;
    }

    /// <summary>Writes <paramref name="entries"/> as an HDF5 file with nested groups.</summary>
    public static void Write(string path, IEnumerable<Entry> entries)
    {
        var file = new H5File();
        foreach (var e in entries)
        {
            var parts = e.Name.Split('/');
            H5Group group = file;
            for (int i = 0; i < parts.Length - 1; i++)
            {
                if (!group.TryGetValue(parts[i], out var child))
                {
                    child = new H5Group();
                    group[parts[i]] = child;
                }
                group = (H5Group)child;
            }
            group[parts[^1]] = new H5Dataset(e.Data, fileDims: e.Dims);
        }
        file.Write(path);
    }

    /// <summary>Writes the fixture's datasets with <paramref name="change"/> applied to each (null drops it).</summary>
    public static void WriteModified(string path, Func<Entry, Entry?> change) =>
        Write(path, FixtureEntries().Select(change).Where(e => e is not null)!);
}
