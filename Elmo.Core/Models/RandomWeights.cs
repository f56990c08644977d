using PureHDF;

namespace Elmo.Core;

/// <summary>
/// Random weights in the bilm-tf layout, reproducible from a seed on every machine (a fixed
/// SplitMix64 generator, not <see cref="Random"/>): for tests, benchmarks and the built-in demo model.
/// Matrices are uniform in ±1/√fan_in, biases in ±0.1, the character embedding in ±1.
/// </summary>
public static class RandomWeights
{
    /// <summary>Every dataset of the bilm-tf layout for <paramref name="options"/>, in file order, with its shape.</summary>
    /// <param name="options">The architecture.</param>
    /// <returns>(name, shape) pairs.</returns>
    public static IEnumerable<(string Name, int[] Shape)> Layout(ElmoOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var cnn = options.CharCnn;
        int d = cnn.EmbeddingDim, f = cnn.FilterCount, p = options.Lstm.ProjectionDim, c = options.Lstm.CellDim;
        yield return ("char_embed", [cnn.EmbeddingRows, d]);
        for (int i = 0; i < cnn.Filters.Count; i++)
        {
            yield return ($"CNN/W_cnn_{i}", [1, cnn.Filters[i].Width, d, cnn.Filters[i].Count]);
            yield return ($"CNN/b_cnn_{i}", [cnn.Filters[i].Count]);
        }
        for (int k = 0; k < cnn.HighwayLayers; k++)
        {
            yield return ($"CNN_high_{k}/W_transform", [f, f]);
            yield return ($"CNN_high_{k}/b_transform", [f]);
            yield return ($"CNN_high_{k}/W_carry", [f, f]);
            yield return ($"CNN_high_{k}/b_carry", [f]);
        }
        if (options.HasProjection)
        {
            yield return ("CNN_proj/W_proj", [f, p]);
            yield return ("CNN_proj/b_proj", [p]);
        }
        for (int dir = 0; dir < 2; dir++)
        {
            for (int l = 0; l < options.Lstm.Layers; l++)
            {
                string prefix = $"RNN_{dir}/RNN/MultiRNNCell/Cell{l}/LSTMCell";
                yield return ($"{prefix}/W_0", [2 * p, 4 * c]);
                yield return ($"{prefix}/B", [4 * c]);
                yield return ($"{prefix}/W_P_0", [c, p]);
            }
        }
    }

    /// <summary>Converts random weights straight into a model, without a file.</summary>
    /// <param name="options">The architecture.</param>
    /// <param name="seed">Seed; the same seed gives the same weights everywhere.</param>
    /// <returns>The weights.</returns>
    public static ElmoWeights Create(ElmoOptions options, ulong seed) => WeightFileReader.Build(new Generator(seed), options);

    /// <summary>The weights <see cref="Create"/> builds, dataset by dataset in the bilm-tf layout (tests read them unpacked).</summary>
    /// <param name="seed">Seed.</param>
    /// <returns>A source of every dataset of <see cref="Layout"/>.</returns>
    internal static IWeightSource Source(ulong seed) => new Generator(seed);

    /// <summary>Writes random weights as a bilm-tf HDF5 file, plus the options JSON beside it.</summary>
    /// <param name="options">The architecture.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="weightsPath">HDF5 file to write (written to a temporary name, then renamed).</param>
    /// <param name="optionsPath">Options JSON to write, or null for none.</param>
    public static void Write(ElmoOptions options, ulong seed, string weightsPath, string? optionsPath = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var gen = new Generator(seed);
        var file = new H5File();
        foreach (var (name, shape) in Layout(options))
        {
            var data = new float[shape.Aggregate(1L, (a, b) => a * b)];
            gen.ReadInto(name, shape, data);
            H5Group group = file;
            var parts = name.Split('/');
            for (int i = 0; i < parts.Length - 1; i++)
            {
                if (!group.TryGetValue(parts[i], out var child))
                {
                    child = new H5Group();
                    group[parts[i]] = child;
                }
                group = (H5Group)child;
            }
            group[parts[^1]] = new H5Dataset(data, fileDims: shape.Select(s => (ulong)s).ToArray());
        }
        if (optionsPath is null)
        {
            AtomicFile.Write(weightsPath, tmp => file.Write(tmp));
            return;
        }
        // Both files replaced together: a failure leaves the previous weights and options, never a mixed pair.
        string json = options.ToJson();
        AtomicFile.WriteAll([(weightsPath, tmp => file.Write(tmp)), (optionsPath, tmp => File.WriteAllText(tmp, json))]);
    }

    /// <summary>Generates each dataset from a per-dataset stream (seed and name), so order does not matter.</summary>
    private sealed class Generator(ulong seed) : IWeightSource
    {
        public void ReadInto(string name, int[] shape, Span<float> destination)
        {
            ulong state = seed ^ Fnv(name);
            float scale = name switch
            {
                "char_embed" => 1f,
                _ when shape.Length == 1 => 0.1f,
                _ => 1f / MathF.Sqrt(shape[^1] == 0 ? 1 : shape.Length == 4 ? shape[1] * shape[2] : shape[0]),
            };
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = scale * (2f * Next(ref state) - 1f);
            }
        }

        private static float Next(ref ulong state)
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (z >> 40) * (1f / (1 << 24));
        }

        private static ulong Fnv(string s)
        {
            ulong h = 14695981039346656037UL;
            foreach (char ch in s)
            {
                h = (h ^ ch) * 1099511628211UL;
            }
            return h;
        }
    }
}
