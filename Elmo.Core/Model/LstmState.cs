namespace Elmo.Core;

/// <summary>
/// LSTM states for a number of batch rows: for every layer and direction, the output state
/// <c>h</c> (<c>rows × projection_dim</c>, before any skip connection) and the memory cell
/// <c>c</c> (<c>rows × cell_dim</c>). Direction 0 is forward, 1 backward.
/// </summary>
public sealed class LstmState
{
    /// <summary>Creates a zero state.</summary>
    /// <param name="options">The LSTM architecture.</param>
    /// <param name="rows">Number of batch rows.</param>
    public LstmState(LstmOptions options, int rows)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        Options = options;
        Rows = rows;
        Hidden = new float[options.Layers * 2][];
        Cell = new float[options.Layers * 2][];
        for (int i = 0; i < Hidden.Length; i++)
        {
            Hidden[i] = new float[rows * options.ProjectionDim];
            Cell[i] = new float[rows * options.CellDim];
        }
    }

    /// <summary>The architecture.</summary>
    public LstmOptions Options { get; }

    /// <summary>Number of batch rows.</summary>
    public int Rows { get; }

    /// <summary>Output states, indexed <c>[layer · 2 + direction]</c>, each <c>rows × projection_dim</c>.</summary>
    internal float[][] Hidden { get; }

    /// <summary>Memory cells, indexed <c>[layer · 2 + direction]</c>, each <c>rows × cell_dim</c>.</summary>
    internal float[][] Cell { get; }

    /// <summary>The output state of one row, layer and direction (a copy).</summary>
    /// <param name="row">Batch row.</param>
    /// <param name="layer">LSTM layer.</param>
    /// <param name="direction">0 forward, 1 backward.</param>
    /// <returns><c>projection_dim</c> values.</returns>
    public float[] GetHidden(int row, int layer, int direction) => Slice(Hidden, row, layer, direction, Options.ProjectionDim).ToArray();

    /// <summary>The memory cell of one row, layer and direction (a copy).</summary>
    /// <param name="row">Batch row.</param>
    /// <param name="layer">LSTM layer.</param>
    /// <param name="direction">0 forward, 1 backward.</param>
    /// <returns><c>cell_dim</c> values.</returns>
    public float[] GetCell(int row, int layer, int direction) => Slice(Cell, row, layer, direction, Options.CellDim).ToArray();

    /// <summary>Copies row <paramref name="sourceRow"/> of <paramref name="source"/> into row <paramref name="row"/> of this state.</summary>
    /// <param name="row">Destination row.</param>
    /// <param name="source">Source state of the same architecture.</param>
    /// <param name="sourceRow">Source row.</param>
    public void CopyRow(int row, LstmState source, int sourceRow)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Options.ProjectionDim != Options.ProjectionDim || source.Options.CellDim != Options.CellDim || source.Options.Layers != Options.Layers)
        {
            throw new ArgumentException("The source state belongs to a different architecture.", nameof(source));
        }
        for (int i = 0; i < Hidden.Length; i++)
        {
            source.Hidden[i].AsSpan(sourceRow * Options.ProjectionDim, Options.ProjectionDim).CopyTo(Hidden[i].AsSpan(row * Options.ProjectionDim));
            source.Cell[i].AsSpan(sourceRow * Options.CellDim, Options.CellDim).CopyTo(Cell[i].AsSpan(row * Options.CellDim));
        }
    }

    /// <summary>A deep copy.</summary>
    /// <returns>An independent state with the same values.</returns>
    public LstmState Clone()
    {
        var copy = new LstmState(Options, Rows);
        for (int i = 0; i < Hidden.Length; i++)
        {
            Hidden[i].CopyTo(copy.Hidden[i], 0);
            Cell[i].CopyTo(copy.Cell[i], 0);
        }
        return copy;
    }

    private ReadOnlySpan<float> Slice(float[][] arrays, int row, int layer, int direction, int width)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)row, (uint)Rows, nameof(row));
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)layer, (uint)Options.Layers, nameof(layer));
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)direction, 1u, nameof(direction));
        return arrays[layer * 2 + direction].AsSpan(row * width, width);
    }
}
