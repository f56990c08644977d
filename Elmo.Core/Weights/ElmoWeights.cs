using Elmo.Kernels.Gemm;

namespace Elmo.Core;

/// <summary>
/// The weights of a biLM, converted once at load into the layouts the kernels use: GEMM operands packed
/// into panels, the padding row of the character embedding added, the forget bias folded in.
/// Immutable and safe to share between threads.
/// </summary>
public sealed class ElmoWeights
{
    internal ElmoWeights(
        ElmoOptions options,
        float[] charEmbedding,
        ConvolutionWeights[] convolutions,
        HighwayWeights[] highways,
        PackedMatrix? projection,
        float[]? projectionBias,
        LstmLayerWeights[][] lstm)
    {
        Options = options;
        CharEmbedding = charEmbedding;
        Convolutions = convolutions;
        Highways = highways;
        Projection = projection;
        ProjectionBias = projectionBias;
        Lstm = lstm;
    }

    /// <summary>The architecture these weights belong to.</summary>
    public ElmoOptions Options { get; }

    /// <summary>Number of trainable parameters in the weight file (the padding row excluded).</summary>
    public long ParameterCount
    {
        get
        {
            var o = Options;
            long n = (long)o.CharCnn.EmbeddingRows * o.CharCnn.EmbeddingDim;
            n += o.CharCnn.Filters.Sum(f => (long)f.Width * o.CharCnn.EmbeddingDim * f.Count + f.Count);
            long fc = o.CharCnn.FilterCount;
            n += o.CharCnn.HighwayLayers * (2 * fc * fc + 2 * fc);
            if (o.HasProjection) n += fc * o.Lstm.ProjectionDim + o.Lstm.ProjectionDim;
            long c = o.Lstm.CellDim, p = o.Lstm.ProjectionDim;
            n += 2L * o.Lstm.Layers * ((p + p) * 4 * c + 4 * c + c * p);
            return n;
        }
    }

    /// <summary>Bytes held by the converted weights.</summary>
    public long SizeInBytes =>
        (long)CharEmbedding.Length * 4
        + Convolutions.Sum(c => c.Kernel.SizeInBytes + c.Bias.Length * 4L)
        + Highways.Sum(h => h.TransformAndCarry.SizeInBytes + h.Bias.Length * 4L)
        + (Projection?.SizeInBytes ?? 0) + (ProjectionBias?.Length ?? 0) * 4L
        + Lstm.Sum(d => d.Sum(l => l.Input.SizeInBytes + l.Recurrent.SizeInBytes + l.Projection.SizeInBytes + l.Bias.Length * 4L));

    /// <summary><c>(rows + 1) × char_dim</c>, row 0 (id 0, padding) all zeros.</summary>
    internal float[] CharEmbedding { get; }

    internal ConvolutionWeights[] Convolutions { get; }

    internal HighwayWeights[] Highways { get; }

    internal PackedMatrix? Projection { get; }

    internal float[]? ProjectionBias { get; }

    /// <summary>Indexed <c>[direction][layer]</c>; direction 0 is forward, 1 backward.</summary>
    internal LstmLayerWeights[][] Lstm { get; }

    /// <summary>How the GEMM weights (convolutions, highway, projection, LSTM matrices) are stored; biases and the
    /// character embedding are always float32.</summary>
    public WeightPrecision Precision => Lstm.Length > 0 && Lstm[0].Length > 0 ? Lstm[0][0].Recurrent.Precision : WeightPrecision.Fp32;

    /// <summary>
    /// These weights with every GEMM matrix stored in <paramref name="precision"/> (bfloat16 or int8 with per-column
    /// scales, <see cref="WeightPrecision"/>): about a half or a quarter of the bytes, widened to float32 inside the
    /// products (accumulation stays float32). Results then differ from float32's (see docs/performance.md for the
    /// measured fidelity); only <see cref="WeightPrecision.Fp32"/> is exact. These weights themselves for Fp32.
    /// </summary>
    /// <param name="precision">The storage.</param>
    /// <returns>The converted weights.</returns>
    /// <exception cref="InvalidOperationException">These weights are already reduced (only float32 converts).</exception>
    public ElmoWeights ToPrecision(WeightPrecision precision)
    {
        if (precision == Precision) return this;
        return new ElmoWeights(
            Options,
            CharEmbedding,
            [.. Convolutions.Select(c => c with { Kernel = c.Kernel.ToPrecision(precision) })],
            [.. Highways.Select(h => h with { TransformAndCarry = h.TransformAndCarry.ToPrecision(precision) })],
            Projection?.ToPrecision(precision),
            ProjectionBias,
            [.. Lstm.Select(d => d.Select(l => l with { Input = l.Input.ToPrecision(precision), Recurrent = l.Recurrent.ToPrecision(precision), Projection = l.Projection.ToPrecision(precision) }).ToArray())]);
    }

    /// <summary>Loads bilm-tf weights from an HDF5 file, checking every dataset against <paramref name="options"/>.</summary>
    /// <param name="path">The weight file.</param>
    /// <param name="options">The architecture the file must match.</param>
    /// <returns>The converted weights.</returns>
    /// <exception cref="ElmoWeightsException">The file is missing, not HDF5, truncated, or a dataset is missing, mis-shaped, of an unsupported type, or holds NaN or infinite values.</exception>
    public static ElmoWeights Load(string path, ElmoOptions options) => WeightFileReader.Read(path, options);

    /// <summary>Loads bilm-tf weights from an HDF5 file and keeps the GEMM matrices in <paramref name="precision"/>,
    /// converting each as soon as it is read (the whole float32 model is never resident at once).</summary>
    /// <param name="path">The weight file.</param>
    /// <param name="options">The architecture the file must match.</param>
    /// <param name="precision">How the GEMM weights are kept (<see cref="ToPrecision"/>).</param>
    /// <returns>The converted weights.</returns>
    /// <exception cref="ElmoWeightsException">As <see cref="Load(string, ElmoOptions)"/>.</exception>
    public static ElmoWeights Load(string path, ElmoOptions options, WeightPrecision precision) => WeightFileReader.Read(path, options, precision);
}
