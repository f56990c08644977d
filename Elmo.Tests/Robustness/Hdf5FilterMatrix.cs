using System.Text.Json;
using Elmo.Tests.Support;

namespace Elmo.Tests.Robustness;

/// <summary>
/// Generates, with h5py, HDF5 files in every storage layout and filter combination h5py can write (contiguous,
/// compact, chunked with edge chunks, resizable chunked datasets of one and of all unlimited dimensions, a single
/// chunk; gzip, shuffle, fletcher32, lzf, scaleoffset, szip, and their combinations; old and new object headers
/// through <c>libver</c> earliest and latest), each beside a plain copy holding what h5py reads from it.
/// </summary>
internal static class Hdf5FilterMatrix
{
    /// <summary>One generated file, the plain file holding what h5py reads from it, and what it is.</summary>
    /// <param name="Refusal">Null when the file must be read; else a word the reader's refusal must contain.</param>
    public sealed record Case(string File, string Expected, string What, string? Refusal);

    /// <summary>
    /// Copies of the fixture weight file in each layout, filter pipeline and element type (float32 both byte orders,
    /// float64, float16), each with a plain float32 copy of what h5py reads back (scaleoffset is lossy).
    /// </summary>
    public static List<Case> WeightFiles(string fixture, string directory) =>
        Generate(WeightScript, fixture, directory);

    /// <summary>
    /// Files of assorted datasets (floats and integers of several sizes and byte orders, 1 to 3 dimensions) in each
    /// layout and filter pipeline, each with a plain float64 copy of what h5py reads.
    /// </summary>
    public static List<Case> DatasetFiles(string directory) => Generate(DatasetScript, "", directory);

    private static List<Case> Generate(string script, string fixture, string directory)
    {
        string json = H5py.Run(Common + script, fixture, directory);
        var cases = JsonSerializer.Deserialize<string[][]>(json.Trim().Split('\n')[^1])!;
        return cases.Select(c => new Case(c[0], c[1], c[2], c[3].Length == 0 ? null : c[3])).ToList();
    }

    private const string Common = """
        import sys, json, os
        import numpy as np, h5py
        from h5py import h5z
        fixture, outdir = sys.argv[1], sys.argv[2]

        SZIP = h5z.filter_avail(h5z.FILTER_SZIP) and (h5z.get_filter_info(h5z.FILTER_SZIP) & h5z.FILTER_CONFIG_ENCODE_ENABLED) != 0
        FILTERS = {
            'none': {},
            'gzip': dict(compression='gzip', compression_opts=4),
            'shuffle': dict(shuffle=True),
            'shuffle+gzip': dict(shuffle=True, compression='gzip'),
            'fletcher32': dict(fletcher32=True),
            'shuffle+fletcher32': dict(shuffle=True, fletcher32=True),
            'gzip+fletcher32': dict(compression='gzip', fletcher32=True),
            'shuffle+gzip+fletcher32': dict(shuffle=True, compression='gzip', compression_opts=9, fletcher32=True),
            'lzf': dict(compression='lzf'),
            'shuffle+lzf+fletcher32': dict(shuffle=True, compression='lzf', fletcher32=True),
            'scaleoffset': dict(scaleoffset=3),
            'scaleoffset+shuffle+gzip': dict(scaleoffset=3, shuffle=True, compression='gzip'),
        }
        if SZIP:
            FILTERS['szip'] = dict(compression='szip', compression_opts=('nn', 2))
        # Filters PureHDF cannot decode: the reader must refuse them with a clear message.
        UNREADABLE = {'szip'}

        def chunks_for(shape):
            # several chunks per dimension, the last one partial
            return tuple(max(1, (d + 2) // 3) for d in shape)

        def create(f, name, a, layout, fkw):
            parent = name.rsplit('/', 1)[0] if '/' in name else None
            if parent:
                f.require_group(parent)
            if layout == 'compact':
                dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
                dcpl.set_layout(h5py.h5d.COMPACT)
                space = h5py.h5s.create_simple(a.shape)
                ds = h5py.h5d.create(f.id, name.encode(), h5py.h5t.py_create(a.dtype), space, dcpl=dcpl)
                ds.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(a))
                return
            kw = dict(fkw)
            if layout == 'chunked':
                kw['chunks'] = chunks_for(a.shape)
            elif layout == 'single-chunk':
                kw['chunks'] = a.shape
            elif layout == 'resizable':
                kw['chunks'] = chunks_for(a.shape)
                kw['maxshape'] = (None,) + a.shape[1:]
            elif layout == 'resizable-all':
                kw['chunks'] = chunks_for(a.shape)
                kw['maxshape'] = (None,) * len(a.shape)
            if kw.get('compression') == 'szip' and 'chunks' in kw and int(np.prod(kw['chunks'])) < 2:
                kw['chunks'] = a.shape
            f.create_dataset(name, data=a, **kw)

        def refusal(path, filt, dtype):
            # What the reader must say instead of reading: szip, and scaleoffset on big-endian data, are not decoded;
            # chunks stored with an optional filter skipped (h5py's lzf, when it cannot shrink a chunk) are refused
            # (PureHDF applies the filter mask wrongly).
            if filt in UNREADABLE:
                return filt
            if 'scaleoffset' in filt and np.dtype(dtype).byteorder == '>':
                return 'scaleoffset'
            with h5py.File(path, 'r') as f:
                masked = []
                f.visititems(lambda n, o: masked.append(n) if isinstance(o, h5py.Dataset) and o.chunks and any(
                    o.id.get_chunk_info(i).filter_mask for i in range(o.id.get_num_chunks())) else None)
            return 'filter mask' if masked else ''

        def plain(path, arrays, dtype):
            with h5py.File(path, 'w') as f:
                for n, a in arrays.items():
                    f.create_dataset(n, data=np.asarray(a).astype(dtype))

        """;

    private const string WeightScript = """
        names = []
        with h5py.File(fixture, 'r') as f:
            f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
            data = {n: f[n][()] for n in names}

        plan = [('<f4', 'contiguous', 'none'), ('<f4', 'compact', 'none')]
        plan += [('<f4', 'chunked', k) for k in FILTERS]
        plan += [('<f4', 'resizable', k) for k in ['none', 'fletcher32', 'gzip+fletcher32', 'scaleoffset']]
        plan += [('<f4', 'resizable-all', k) for k in ['none', 'shuffle+gzip+fletcher32']]
        plan += [('<f4', 'single-chunk', k) for k in ['fletcher32', 'gzip']]
        plan += [('>f4', 'contiguous', 'none'), ('>f4', 'chunked', 'shuffle+gzip+fletcher32')]
        plan += [('<f8', 'contiguous', 'none'), ('<f8', 'chunked', 'gzip+fletcher32')]
        plan += [('<f2', 'contiguous', 'none'), ('<f2', 'chunked', 'fletcher32')]
        cases = []
        for libver in ['earliest', 'latest']:
            for i, (dtype, layout, filt) in enumerate(plan):
                path = os.path.join(outdir, f'w-{libver}-{i}.hdf5')
                with h5py.File(path, 'w', libver=libver) as f:
                    for n in names:
                        create(f, n, data[n].astype(dtype), layout, FILTERS[filt])
                expected = os.path.join(outdir, f'e-{libver}-{i}.hdf5')
                with h5py.File(path, 'r') as f:
                    plain(expected, {n: f[n][()] for n in names}, '<f4')
                cases.append([path, expected, f'{dtype} {layout} {filt} libver={libver}', refusal(path, filt, dtype)])
        print(json.dumps(cases))
        """;

    private const string DatasetScript = """
        rng = np.random.default_rng(11)
        shapes = [(97,), (37, 23), (5, 6, 7)]
        def values(dtype, shape):
            dt = np.dtype(dtype)
            if dt.kind == 'f':
                return (rng.standard_normal(shape) * 3).astype(dtype)
            info = np.iinfo(dt)
            return rng.integers(max(info.min, -30000), min(info.max, 30000), size=shape, endpoint=True).astype(dtype)

        plan = []
        for dtype in ['<f4', '>f4', '<f8', '>f8', '<f2', '<i4', '>i2', 'u1', '<i8', '>u4']:
            plan += [(dtype, 'contiguous', 'none'), (dtype, 'compact', 'none')]
            plan += [(dtype, 'chunked', k) for k in FILTERS]
            plan += [(dtype, 'resizable', 'shuffle+gzip+fletcher32'), (dtype, 'resizable-all', 'fletcher32'), (dtype, 'single-chunk', 'lzf')]
        cases = []
        for libver in ['earliest', 'latest']:
            for i, (dtype, layout, filt) in enumerate(plan):
                if filt.startswith('scaleoffset') and np.dtype(dtype).kind == 'f' and np.dtype(dtype).itemsize == 2:
                    continue  # HDF5's scaleoffset has no half-precision mode
                path = os.path.join(outdir, f'd-{libver}-{i}.hdf5')
                kw = dict(FILTERS[filt])
                if 'scaleoffset' in kw and np.dtype(dtype).kind in 'iu':
                    kw['scaleoffset'] = 0  # integers: minimum bits found by the filter
                with h5py.File(path, 'w', libver=libver) as f:
                    for s, shape in enumerate(shapes):
                        create(f, f'x{s}', values(dtype, shape), layout, kw)
                expected = os.path.join(outdir, f'p-{libver}-{i}.hdf5')
                with h5py.File(path, 'r') as f:
                    plain(expected, {n: f[n][()] for n in f}, '<f8')
                cases.append([path, expected, f'{dtype} {layout} {filt} libver={libver}', refusal(path, filt, dtype)])
        print(json.dumps(cases))
        """;
}
