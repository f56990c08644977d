namespace Elmo.Core;

/// <summary>
/// The layers of a biLM run: <c>(layers, batch, timesteps, dim)</c> row-major, where layer 0 is the
/// token representation duplicated <c>[x, x]</c> and layer l ≥ 1 is <c>[forward, backward]</c> of LSTM
/// layer l; padded positions are zero. With <see cref="IncludesBoundaries"/> the <c>&lt;S&gt;</c> and
/// <c>&lt;/S&gt;</c> positions are present (AllenNLP's <c>_ElmoBiLm</c> output); without, they are removed
/// (AllenNLP's <c>Elmo</c> output).
/// </summary>
public sealed class BiLmOutput
{
    internal BiLmOutput(float[] layers, byte[] mask, int[] lengths, int layerCount, int batch, int timesteps, int dim, bool includesBoundaries)
    {
        Layers = layers;
        Mask = mask;
        Lengths = lengths;
        LayerCount = layerCount;
        BatchSize = batch;
        Timesteps = timesteps;
        Dim = dim;
        IncludesBoundaries = includesBoundaries;
    }

    /// <summary>All layers, <c>(LayerCount, BatchSize, Timesteps, Dim)</c> row-major.</summary>
    public float[] Layers { get; }

    /// <summary><c>(BatchSize, Timesteps)</c>: 1 where a position holds a token (or boundary), 0 where it is padding.</summary>
    public byte[] Mask { get; }

    /// <summary>Positions per batch row (tokens, plus 2 with boundaries).</summary>
    public int[] Lengths { get; }

    /// <summary>Number of layers (LSTM layers + 1).</summary>
    public int LayerCount { get; }

    /// <summary>Number of sentences.</summary>
    public int BatchSize { get; }

    /// <summary>Positions per row (the longest row).</summary>
    public int Timesteps { get; }

    /// <summary>Width of each vector: <c>2 · projection_dim</c>.</summary>
    public int Dim { get; }

    /// <summary>Whether the sentence-boundary positions are included.</summary>
    public bool IncludesBoundaries { get; }

    /// <summary>The vector of one layer at one position.</summary>
    /// <param name="layer">Layer, 0…LayerCount−1.</param>
    /// <param name="row">Batch row.</param>
    /// <param name="position">Position in the row.</param>
    /// <returns><see cref="Dim"/> values.</returns>
    public ReadOnlySpan<float> Vector(int layer, int row, int position)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)layer, (uint)LayerCount, nameof(layer));
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)row, (uint)BatchSize, nameof(row));
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)position, (uint)Timesteps, nameof(position));
        return Layers.AsSpan(Offset(layer, row, position), Dim);
    }

    /// <summary>
    /// The layers of one sentence without boundary positions: <c>(LayerCount, tokens, Dim)</c> row-major,
    /// the layout <c>elmo embed --all</c> writes.
    /// </summary>
    /// <param name="row">Batch row.</param>
    /// <returns>A new array.</returns>
    public float[] SentenceLayers(int row)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)row, (uint)BatchSize, nameof(row));
        int skip = IncludesBoundaries ? 1 : 0;
        int n = Lengths[row] - 2 * skip;
        var result = new float[LayerCount * n * Dim];
        for (int l = 0; l < LayerCount; l++)
        {
            Layers.AsSpan(Offset(l, row, skip), n * Dim).CopyTo(result.AsSpan(l * n * Dim));
        }
        return result;
    }

    /// <summary>AllenNLP's <c>remove_sentence_boundaries</c>: the same output without the <c>&lt;S&gt;</c> / <c>&lt;/S&gt;</c> positions.</summary>
    /// <returns>This output when it has no boundaries, else a new one.</returns>
    public BiLmOutput WithoutBoundaries()
    {
        if (!IncludesBoundaries) return this;
        int t = Math.Max(0, Timesteps - 2);
        var layers = new float[(long)LayerCount * BatchSize * t * Dim];
        var mask = new byte[BatchSize * t];
        var lengths = new int[BatchSize];
        for (int b = 0; b < BatchSize; b++)
        {
            int n = Lengths[b] - 2;
            lengths[b] = n;
            mask.AsSpan(b * t, n).Fill(1);
            for (int l = 0; l < LayerCount; l++)
            {
                Layers.AsSpan(Offset(l, b, 1), n * Dim).CopyTo(layers.AsSpan((((l * BatchSize) + b) * t) * Dim));
            }
        }
        return new BiLmOutput(layers, mask, lengths, LayerCount, BatchSize, t, Dim, includesBoundaries: false);
    }

    /// <summary>The number of values of <see cref="Layers"/> that belong to this output (the array may be longer when it is a reused buffer).</summary>
    internal long ValueCount => (long)LayerCount * BatchSize * Timesteps * Dim;

    /// <summary>
    /// The array the layers of a forward pass go into: <paramref name="buffer"/> when it holds at least
    /// <paramref name="values"/> floats, else a new (zeroed) array. A reused buffer is not cleared: the forward
    /// pass writes every position of every row and never reads a padded one, so its padding keeps whatever an
    /// earlier batch left there (and its untouched pages stay out of resident memory).
    /// </summary>
    /// <param name="values">Values needed.</param>
    /// <param name="buffer">A reusable array, or null.</param>
    /// <returns>The array the layers go into.</returns>
    internal static float[] Allocate(long values, float[]? buffer) =>
        buffer is not null && buffer.LongLength >= values ? buffer : new float[values];

    private int Offset(int layer, int row, int position) => (((layer * BatchSize) + row) * Timesteps + position) * Dim;
}
