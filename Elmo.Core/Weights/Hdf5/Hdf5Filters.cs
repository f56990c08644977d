using PureHDF.Filters;

namespace Elmo.Core;

/// <summary>
/// The HDF5 filters our readers decode, registered with PureHDF in place of its own where those are wrong or unbounded:
/// <list type="bullet">
/// <item>Fletcher-32 (<see cref="CheckedFletcher32Filter"/>): PureHDF 2.2.0 returns a slice of a pooled buffer that the
/// next chunk read overwrites, so multi-chunk datasets with only this filter come back half wrong;</item>
/// <item>deflate (<see cref="BoundedDeflateFilter"/>): PureHDF inflates without limit, so one small crafted chunk can
/// expand to gigabytes;</item>
/// <item>LZF (<see cref="LzfFilter"/>): h5py's own compression, which PureHDF does not know.</item>
/// </list>
/// PureHDF's registry is process-wide; registering again before every read keeps ours in place even if other code
/// resets it. Compression (a host application writing its own files with PureHDF) still goes to PureHDF's filters.
/// </summary>
internal static class Hdf5Filters
{
    private static readonly IH5Filter[] Filters = [new CheckedFletcher32Filter(), new BoundedDeflateFilter(), new LzfFilter()];

    /// <summary>Registers the filters (cheap; call before each file is read).</summary>
    public static void Register()
    {
        foreach (var f in Filters) H5Filter.Register(f);
    }

    /// <summary>
    /// The most bytes a decoding stage may produce for a chunk of <paramref name="chunkBytes"/> bytes: the chunk, plus the
    /// small header a scale-offset stage further down the pipeline adds.
    /// </summary>
    public static int OutputLimit(int chunkBytes) => (int)Math.Min(int.MaxValue, (long)chunkBytes + 1024);
}
