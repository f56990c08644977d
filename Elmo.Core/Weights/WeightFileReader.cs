using Elmo.Kernels.Gemm;
using PureHDF;
using PureHDF.VOL.Native;

namespace Elmo.Core;

/// <summary>Reads the bilm-tf HDF5 layout into <see cref="ElmoWeights"/>, checking every dataset.</summary>
internal static class WeightFileReader
{
    public static ElmoWeights Read(string path, ElmoOptions options)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);
        if (!File.Exists(path))
        {
            throw new ElmoWeightsException(Directory.Exists(path) ? $"Weight file '{path}' is a directory." : $"Weight file '{path}' does not exist.") { FilePath = path };
        }

        NativeFile file;
        try
        {
            file = H5File.OpenRead(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ElmoWeightsException($"Weight file '{path}' is not a readable HDF5 file ({e.Message}).", e) { FilePath = path };
        }

        using (file)
        {
            try
            {
                var source = new Source(file, path);

                // Check every dataset's presence, shape and type before allocating anything, so that the
                // options of another model fail fast with the first mismatching dataset named.
                foreach (var (name, shape) in RandomWeights.Layout(options)) source.Check(name, shape);
                source.CheckNothingBeyond(options);
                return Build(source, options);
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
    }

    /// <summary>Converts weights from any source of bilm-tf datasets (a file, or the random generator).</summary>
    internal static ElmoWeights Build(IWeightSource src, ElmoOptions options)
    {
        var cnn = options.CharCnn;
        var lstm = options.Lstm;
        int d = cnn.EmbeddingDim, f = cnn.FilterCount, p = lstm.ProjectionDim, c = lstm.CellDim;

        // char_embed: (rows, d) -> (rows + 1, d) with the zero padding row for id 0.
        int rows = cnn.EmbeddingRows;
        var charEmbedding = new float[(rows + 1) * d];
        src.ReadInto("char_embed", [rows, d], charEmbedding.AsSpan(d));

        var convolutions = new ConvolutionWeights[cnn.Filters.Count];
        for (int i = 0; i < convolutions.Length; i++)
        {
            var (w, n) = cnn.Filters[i];
            // (1, w, d, n) is already row-major (w·d) × n: position-major, then channel, then filter.
            var kernel = src.ReadPacked($"CNN/W_cnn_{i}", [1, w, d, n], w * d, n);
            convolutions[i] = new ConvolutionWeights(w, kernel, src.Read($"CNN/b_cnn_{i}", [n]));
        }

        var highways = new HighwayWeights[cnn.HighwayLayers];
        for (int k = 0; k < highways.Length; k++)
        {
            var wt = src.Read($"CNN_high_{k}/W_transform", [f, f]);
            var wc = src.Read($"CNN_high_{k}/W_carry", [f, f]);
            var packed = new PackedMatrix(f, 2 * f);
            var row = new float[2 * f];
            for (int r = 0; r < f; r++)
            {
                wt.AsSpan(r * f, f).CopyTo(row);
                wc.AsSpan(r * f, f).CopyTo(row.AsSpan(f));
                packed.SetRow(r, row);
            }
            var bias = new float[2 * f];
            src.ReadInto($"CNN_high_{k}/b_transform", [f], bias.AsSpan(0, f));
            src.ReadInto($"CNN_high_{k}/b_carry", [f], bias.AsSpan(f, f));
            highways[k] = new HighwayWeights(packed, bias);
        }

        PackedMatrix? projection = null;
        float[]? projectionBias = null;
        if (options.HasProjection)
        {
            projection = src.ReadPacked("CNN_proj/W_proj", [f, p], f, p);
            projectionBias = src.Read("CNN_proj/b_proj", [p]);
        }

        var layers = new LstmLayerWeights[2][];
        for (int dir = 0; dir < 2; dir++)
        {
            layers[dir] = new LstmLayerWeights[lstm.Layers];
            for (int l = 0; l < lstm.Layers; l++)
            {
                string prefix = $"RNN_{dir}/RNN/MultiRNNCell/Cell{l}/LSTMCell";
                int input = p; // layer 0 reads the token representation, later layers the previous layer; both are P wide
                var w0 = src.Read($"{prefix}/W_0", [input + p, 4 * c]);
                var wx = new PackedMatrix(w0.AsSpan(0, input * 4 * c), input, 4 * c);
                var wh = new PackedMatrix(w0.AsSpan(input * 4 * c), p, 4 * c);
                var bias = src.Read($"{prefix}/B", [4 * c]);
                for (int k = 2 * c; k < 3 * c; k++) bias[k] += 1.0f; // TF's forget_bias, gate order i, j, f, o
                var wp = src.ReadPacked($"{prefix}/W_P_0", [c, p], c, p);
                layers[dir][l] = new LstmLayerWeights(wx, wh, bias, wp);
            }
        }

        return new ElmoWeights(options, charEmbedding, convolutions, highways, projection, projectionBias, layers);
    }

    private sealed class Source(NativeFile file, string path) : IWeightSource
    {
        /// <summary>Checks that dataset <paramref name="name"/> exists with exactly <paramref name="shape"/> and a supported element type.</summary>
        public NativeDataset Check(string name, int[] shape)
        {
            try
            {
                if (!file.LinkExists(name))
                {
                    throw Error(name, $"dataset '{name}' is missing (expected shape ({string.Join(", ", shape)}) from the options); is it a bilm-tf weight file of this model?");
                }
                if (file.Get(name) is not NativeDataset ds)
                {
                    throw Error(name, $"'{name}' is not a dataset");
                }

                ulong[] actual = ds.Space.Dimensions;
                if (actual.Length != shape.Length || !actual.Zip(shape).All(t => t.First == (ulong)t.Second))
                {
                    throw Error(name, $"dataset '{name}' has shape ({string.Join(", ", actual)}), expected ({string.Join(", ", shape)}) from the options; do the options and the weights belong to the same model?");
                }

                var type = ds.Type;
                if (type.Class != H5DataTypeClass.FloatingPoint)
                {
                    throw Error(name, $"dataset '{name}' holds {type.Class} values of {type.Size} bytes, expected floating point (float32; float16 and float64 are converted)");
                }
                if (type.Size is not (2 or 4 or 8))
                {
                    throw Error(name, $"dataset '{name}' holds {type.Size * 8}-bit floats; only 16-, 32- and 64-bit are supported");
                }
                return ds;
            }
            catch (Exception e) when (e is not (ElmoWeightsException or OutOfMemoryException))
            {
                throw Damaged(name, e);
            }
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
                bool exists;
                try
                {
                    exists = file.LinkExists(name);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    throw Damaged(name, e);
                }
                if (exists)
                {
                    throw Error(name, $"the file holds '{name}', which the options do not describe ({because}); the options and the weights belong to different models");
                }
            }
        }

        public void ReadInto(string name, int[] shape, Span<float> destination)
        {
            var ds = Check(name, shape);
            try
            {
                switch (ds.Type.Size)
                {
                    case 4:
                        ds.Read(destination);
                        break;
                    case 8:
                        // float64 weights are converted to float32 (the precision the engine computes in).
                        var wide = ds.Read<double[]>();
                        for (int i = 0; i < wide.Length; i++) destination[i] = (float)wide[i];
                        break;
                    default:
                        // float16 weights are widened exactly to float32.
                        var half = ds.Read<Half[]>();
                        for (int i = 0; i < half.Length; i++) destination[i] = (float)half[i];
                        break;
                }
            }
            catch (Exception e) when (e is not (ElmoWeightsException or OutOfMemoryException))
            {
                throw Damaged(name, e);
            }

            int bad = IndexOfNonFinite(destination);
            if (bad >= 0)
            {
                throw Error(name, $"dataset '{name}' holds a non-finite value ({destination[bad]}) at flat index {bad}; the file is corrupt");
            }
        }

        private static int IndexOfNonFinite(ReadOnlySpan<float> values)
        {
            for (int i = 0; i < values.Length; i++)
            {
                if (!float.IsFinite(values[i])) return i;
            }
            return -1;
        }

        private ElmoWeightsException Damaged(string dataset, Exception e) =>
            new($"Weight file '{path}': dataset '{dataset}' cannot be read; the file is damaged or truncated ({e.GetType().Name}: {e.Message}).", e) { FilePath = path, Dataset = dataset };

        private ElmoWeightsException Error(string dataset, string what) =>
            new($"Weight file '{path}': {what}.") { FilePath = path, Dataset = dataset };
    }
}
