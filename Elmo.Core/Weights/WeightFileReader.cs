using System.Buffers.Binary;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Elmo.Kernels;
using Elmo.Kernels.Gemm;
using Microsoft.Win32.SafeHandles;
using PureHDF.Selections;
using PureHDF;
using PureHDF.VOL.Native;

namespace Elmo.Core;

/// <summary>Reads the bilm-tf HDF5 layout into <see cref="ElmoWeights"/>, checking every dataset.</summary>
internal static class WeightFileReader
{
    public static ElmoWeights Read(string path, ElmoOptions options, WeightPrecision precision = WeightPrecision.Fp32)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);
        if (!File.Exists(path))
        {
            throw new ElmoWeightsException(Directory.Exists(path) ? $"Weight file '{path}' is a directory." : $"Weight file '{path}' does not exist.") { FilePath = path };
        }

        // Large files are read on two threads, each through its own handle: packing 374 MB is bound by copying and by
        // the first touch of the new memory, both of which scale with cores.
        int workers = new FileInfo(path).Length >= ParallelLoadBytes ? Math.Clamp(Environment.ProcessorCount, 1, 2) : 1;
        // Our own structural check first (checksums, link cycles, sizes): PureHDF verifies none of them.
        var scan = Scan(path);
        Hdf5Filters.Register();
        var files = new List<NativeFile>();
        var handles = new List<SafeFileHandle>();
        try
        {
            try
            {
                for (int i = 0; i < workers; i++)
                {
                    files.Add(H5File.OpenRead(path));
                    handles.Add(File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read));
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new ElmoWeightsException($"Weight file '{path}' is not a readable HDF5 file ({e.Message}).", e) { FilePath = path };
            }

            try
            {
                var sources = files.Select((f, i) => new Source(f, handles[i], scan, path)).ToArray();

                // Check every dataset's presence, shape and type before allocating anything, so that the
                // options of another model fail fast with the first mismatching dataset named.
                foreach (var (name, shape) in RandomWeights.Layout(options)) sources[0].Check(name, shape);
                sources[0].CheckNothingBeyond(options);
                return Build(sources, options, precision);
            }
            catch (ElmoWeightsException)
            {
                throw;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new ElmoWeightsException($"Weight file '{path}' is damaged or truncated ({e.Message}).", e) { FilePath = path };
            }
        }
        finally
        {
            foreach (var f in files) f.Dispose();
            foreach (var h in handles) h.Dispose();
        }
    }

    /// <summary>Runs <see cref="Hdf5Scan"/> on a weight file, turning what it finds into weight-file errors.</summary>
    private static Hdf5Scan Scan(string path)
    {
        try
        {
            return Hdf5Scan.Run(path);
        }
        catch (Hdf5FormatException e) when (e.NotHdf5)
        {
            throw new ElmoWeightsException($"Weight file '{path}' is not a readable HDF5 file ({e.Message}).", e) { FilePath = path };
        }
        catch (Hdf5FormatException e)
        {
            throw new ElmoWeightsException($"Weight file '{path}' is damaged: {e.Message}.", e) { FilePath = path };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ElmoWeightsException($"Weight file '{path}' cannot be read ({e.Message}).", e) { FilePath = path };
        }
    }

    /// <summary>Weight files at least this large are read on two threads.</summary>
    private const long ParallelLoadBytes = 32L << 20;

    /// <summary>Converts weights from any source of bilm-tf datasets (a file, or the random generator).</summary>
    internal static ElmoWeights Build(IWeightSource src, ElmoOptions options) => Build([src], options);

    /// <summary>
    /// Converts weights, reading the datasets on one thread per source (each source is used by one thread only; pass the
    /// same thread-safe source twice to share it). The error reported is that of the first failing dataset in file order,
    /// as a sequential read would report it.
    /// </summary>
    internal static ElmoWeights Build(IReadOnlyList<IWeightSource> sources, ElmoOptions options, WeightPrecision precision = WeightPrecision.Fp32)
    {
        var cnn = options.CharCnn;
        var lstm = options.Lstm;
        int d = cnn.EmbeddingDim, f = cnn.FilterCount, p = lstm.ProjectionDim, c = lstm.CellDim;
        var items = new List<Action<IWeightSource, ReadBuffer>>();

        // char_embed: (rows, d) -> (rows + 1, d) with the zero padding row for id 0.
        int rows = cnn.EmbeddingRows;
        var charEmbedding = new float[(rows + 1) * d];
        var convolutions = new ConvolutionWeights[cnn.Filters.Count];
        items.Add((src, buffer) =>
        {
            src.ReadInto("char_embed", [rows, d], charEmbedding.AsSpan(d));
            for (int i = 0; i < convolutions.Length; i++)
            {
                var (w, n) = cnn.Filters[i];
                // (1, w, d, n) is already row-major (w·d) × n: position-major, then channel, then filter.
                var kernel = src.ReadPacked($"CNN/W_cnn_{i}", [1, w, d, n], w * d, n);
                convolutions[i] = new ConvolutionWeights(w, kernel.ToPrecision(precision), src.Read($"CNN/b_cnn_{i}", [n]));
            }
        });

        var highways = new HighwayWeights[cnn.HighwayLayers];
        for (int k = 0; k < highways.Length; k++)
        {
            int layer = k;
            items.Add((src, buffer) =>
            {
                // [W_transform | W_carry] side by side: F × 2F.
                var packed = buffer.Stage(f, 2 * f, precision);
                PackRows(src, buffer, $"CNN_high_{layer}/W_transform", [f, f], 0, packed, 0);
                PackRows(src, buffer, $"CNN_high_{layer}/W_carry", [f, f], 0, packed, f);
                var bias = new float[2 * f];
                src.ReadInto($"CNN_high_{layer}/b_transform", [f], bias.AsSpan(0, f));
                src.ReadInto($"CNN_high_{layer}/b_carry", [f], bias.AsSpan(f, f));
                highways[layer] = new HighwayWeights(packed.ToPrecision(precision), bias);
            });
        }

        PackedMatrix? projection = null;
        float[]? projectionBias = null;
        if (options.HasProjection)
        {
            items.Add((src, buffer) =>
            {
                var packed = buffer.Stage(f, p, precision);
                PackRows(src, buffer, "CNN_proj/W_proj", [f, p], 0, packed, 0);
                projectionBias = src.Read("CNN_proj/b_proj", [p]);
                projection = packed.ToPrecision(precision);
            });
        }

        var layers = new LstmLayerWeights[2][];
        for (int dir = 0; dir < 2; dir++)
        {
            layers[dir] = new LstmLayerWeights[lstm.Layers];
            for (int l = 0; l < lstm.Layers; l++)
            {
                var target = layers[dir];
                int layer = l;
                string prefix = $"RNN_{dir}/RNN/MultiRNNCell/Cell{l}/LSTMCell";
                items.Add((src, buffer) =>
                {
                    int input = p; // layer 0 reads the token representation, later layers the previous layer; both are P wide
                    // W_0 = [W_x; W_h]: (input + P) × 4C, packed straight into the two matrices block by block.
                    // A reduced precision is made matrix by matrix in one staging area, so that no float32 matrix is kept.
                    var wx = buffer.Stage(input, 4 * c, precision);
                    PackRows(src, buffer, $"{prefix}/W_0", [input + p, 4 * c], 0, wx, 0);
                    wx = wx.ToPrecision(precision);
                    var wh = buffer.Stage(p, 4 * c, precision);
                    PackRows(src, buffer, $"{prefix}/W_0", [input + p, 4 * c], input, wh, 0);
                    wh = wh.ToPrecision(precision);
                    var bias = src.Read($"{prefix}/B", [4 * c]);
                    for (int k = 2 * c; k < 3 * c; k++) bias[k] += 1.0f; // TF's forget_bias, gate order i, j, f, o
                    var wp = buffer.Stage(c, p, precision);
                    PackRows(src, buffer, $"{prefix}/W_P_0", [c, p], 0, wp, 0);
                    target[layer] = new LstmLayerWeights(wx, wh, bias, wp.ToPrecision(precision));
                });
            }
        }

        RunInFileOrder(items, sources);
        return new ElmoWeights(options, charEmbedding, convolutions, highways, projection, projectionBias, layers);
    }

    /// <summary>
    /// Runs the items on one thread per source, taking them in order, each thread with its own read buffer; rethrows the
    /// first failed item's exception.
    /// </summary>
    private static void RunInFileOrder(List<Action<IWeightSource, ReadBuffer>> items, IReadOnlyList<IWeightSource> sources)
    {
        if (sources.Count == 1)
        {
            var buffer = new ReadBuffer();
            foreach (var item in items) item(sources[0], buffer);
            return;
        }

        var errors = new Exception?[items.Count];
        int next = -1;
        void Work(IWeightSource src)
        {
            var buffer = new ReadBuffer();
            for (int i = Interlocked.Increment(ref next); i < items.Count; i = Interlocked.Increment(ref next))
            {
                try
                {
                    items[i](src, buffer);
                }
                catch (Exception e)
                {
                    errors[i] = e;
                }
            }
        }

        var others = sources.Skip(1).Select(s => Task.Factory.StartNew(() => Work(s), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        Work(sources[0]);
        Task.WaitAll(others);
        var first = errors.FirstOrDefault(e => e is not null);
        if (first is not null) ExceptionDispatchInfo.Capture(first).Throw();
    }

    /// <summary>
    /// Floats per block when a matrix is read and packed block by block (512 KiB): small enough that the block stays in
    /// the L2 cache while it is scattered into the panels.
    /// </summary>
    private const int PackBlockFloats = 1 << 17;

    /// <summary>
    /// Packs rows <paramref name="row0"/>… of the 2-D dataset <paramref name="name"/> (as many as <paramref name="packed"/> has)
    /// into <paramref name="packed"/> from column <paramref name="column0"/>, through the caller's small reused buffer when the source
    /// can read parts of a dataset: no full-size temporary copy of the weights is made.
    /// </summary>
    private static void PackRows(IWeightSource src, ReadBuffer reader, string name, int[] shape, int row0, PackedMatrix packed, int column0)
    {
        int width = shape[1], rows = packed.Rows;
        if (rows == 0 || width == 0) return;
        int block = src.CanReadRows ? Math.Clamp(PackBlockFloats / width, 1, rows) : rows;
        var buffer = reader.Get((long)block * width);
        for (int r = 0; r < rows; r += block)
        {
            int n = Math.Min(block, rows - r);
            var part = buffer.AsSpan(0, n * width);
            src.ReadRows(name, shape, row0 + r, part);
            packed.SetRows(r, part, width, column0);
        }
    }

    /// <summary>One loader thread's read buffer, grown on demand (to at most one block for sources that read rows).</summary>
    private sealed class ReadBuffer
    {
        private float[] _data = [];
        private float[] _staging = [];

        public float[] Get(long length)
        {
            if (_data.Length < length) _data = new float[length];
            return _data;
        }

        /// <summary>
        /// A float32 matrix to pack rows into: a new one when the model stays float32, else this thread's reused staging
        /// area (converted with <see cref="PackedMatrix.ToPrecision"/> before the next matrix is staged), so that a
        /// reduced model never holds more than one float32 matrix per loading thread.
        /// </summary>
        public PackedMatrix Stage(int rows, int columns, WeightPrecision precision)
        {
            if (precision == WeightPrecision.Fp32) return new PackedMatrix(rows, columns);
            long length = PackedMatrix.StorageLength(rows, columns);
            if (_staging.LongLength < length) _staging = new float[length];
            return new PackedMatrix(rows, columns, _staging);
        }
    }

    /// <summary>
    /// One loader thread's view of the weight file: PureHDF for the general case, and a plain handle for float32
    /// datasets stored contiguously (what bilm-tf and h5py write), which are read with positional reads straight into
    /// the destination, without PureHDF's selection machinery and its intermediate copy.
    /// </summary>
    private sealed class Source(NativeFile file, SafeFileHandle handle, Hdf5Scan scan, string path) : IWeightSource
    {
        public bool CanReadRows => true;

        /// <summary>Checks that dataset <paramref name="name"/> exists with exactly <paramref name="shape"/> and a supported element type.</summary>
        public Hdf5DatasetFacts Check(string name, int[] shape)
        {
            if (!scan.Exists(name))
            {
                throw Error(name, $"dataset '{name}' is missing (expected shape ({string.Join(", ", shape)}) from the options); is it a bilm-tf weight file of this model?");
            }
            if (scan.Find(name) is not { } facts)
            {
                throw Error(name, $"'{name}' is not a dataset");
            }

            ulong[] actual = facts.Dims;
            if (actual.Length != shape.Length || !actual.Zip(shape).All(t => t.First == (ulong)t.Second))
            {
                throw Error(name, $"dataset '{name}' has shape ({string.Join(", ", actual)}), expected ({string.Join(", ", shape)}) from the options; do the options and the weights belong to the same model?");
            }

            var element = facts.Element;
            if (element.Class != 1)
            {
                throw Error(name, $"dataset '{name}' holds {element.Describe()} values, expected floating point (float32; float16 and float64 are converted)");
            }
            if (!element.IsFloat)
            {
                throw Error(name, $"dataset '{name}' holds {element.Describe()}s; only IEEE 16-, 32- and 64-bit floats are supported");
            }
            if (facts.Unreadable is { } why)
            {
                throw Error(name, $"dataset '{name}' cannot be read: {why}");
            }
            return facts;
        }

        /// <summary>
        /// Refuses a file that holds more of the model than the options describe (another filter, highway
        /// layer, LSTM layer, or a projection the options do not have): its weights belong to another model.
        /// </summary>
        public void CheckNothingBeyond(ElmoOptions options)
        {
            var cnn = options.CharCnn;
            Extra($"CNN/W_cnn_{cnn.Filters.Count}", $"char_cnn.filters lists {cnn.Filters.Count} filter widths");
            Extra($"CNN_high_{cnn.HighwayLayers}", $"char_cnn.n_highway = {cnn.HighwayLayers}");
            if (!options.HasProjection)
            {
                Extra("CNN_proj", $"the filters add up to lstm.projection_dim = {options.Lstm.ProjectionDim}, so the options have no CNN projection");
            }
            for (int dir = 0; dir < 2; dir++)
            {
                Extra($"RNN_{dir}/RNN/MultiRNNCell/Cell{options.Lstm.Layers}", $"lstm.n_layers = {options.Lstm.Layers}");
            }

            void Extra(string name, string because)
            {
                if (scan.Exists(name))
                {
                    throw Error(name, $"the file holds '{name}', which the options do not describe ({because}); the options and the weights belong to different models");
                }
            }
        }

        public void ReadRows(string name, int[] shape, int row0, Span<float> destination)
        {
            var facts = Check(name, shape);
            int width = shape[1], rows = destination.Length / width;
            Convert(name, facts, (long)row0 * width, destination, new HyperslabSelection(2, [(ulong)row0, 0], [(ulong)rows, (ulong)width]));

            int bad = FloatSearch.IndexOfNonFinite(destination);
            if (bad >= 0)
            {
                throw Error(name, $"dataset '{name}' holds a non-finite value ({destination[bad]}) at flat index {(long)row0 * width + bad}; the file is corrupt");
            }
        }

        public void ReadInto(string name, int[] shape, Span<float> destination)
        {
            var facts = Check(name, shape);
            Convert(name, facts, 0, destination, null);

            int bad = FloatSearch.IndexOfNonFinite(destination);
            if (bad >= 0)
            {
                throw Error(name, $"dataset '{name}' holds a non-finite value ({destination[bad]}) at flat index {bad}; the file is corrupt");
            }
        }

        /// <summary>
        /// Reads <paramref name="destination"/>.Length elements of dataset <paramref name="name"/> from flat element
        /// <paramref name="first"/> (what <paramref name="selection"/> selects) as float32: float64 is rounded to float32
        /// (the precision the engine computes in), float16 widened exactly; either byte order.
        /// </summary>
        private void Convert(string name, Hdf5DatasetFacts facts, long first, Span<float> destination, Selection? selection)
        {
            try
            {
                var element = facts.Element;
                if (element.Size == 4 && facts.DataOffset is long at)
                {
                    // float32 stored contiguously (the scan checked that it lies inside the file): the bytes are the values.
                    var bytes = MemoryMarshal.AsBytes(destination);
                    long offset = at + first * sizeof(float);
                    for (int done = 0; done < bytes.Length;)
                    {
                        int read = RandomAccess.Read(handle, bytes[done..], offset + done);
                        if (read == 0) throw new EndOfStreamException($"the file ends at byte {offset + done}, inside the data of '{name}'");
                        done += read;
                    }
                    if (element.BigEndian) BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<float, int>(destination), MemoryMarshal.Cast<float, int>(destination));
                    return;
                }
                Hdf5Values.ReadFloats((NativeDataset)file.Dataset(name), element, selection, destination);
            }
            catch (Exception e) when (e is not (ElmoWeightsException or OutOfMemoryException))
            {
                throw Damaged(name, e);
            }
        }

        private ElmoWeightsException Damaged(string dataset, Exception e) =>
            new($"Weight file '{path}': dataset '{dataset}' cannot be read; the file is damaged or truncated ({Hdf5Errors.Describe(e)}).", e) { FilePath = path, Dataset = dataset };

        private ElmoWeightsException Error(string dataset, string what) =>
            new($"Weight file '{path}': {what}{(what.EndsWith('?') ? "" : ".")}") { FilePath = path, Dataset = dataset };
    }
}
