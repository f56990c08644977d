using Elmo.Kernels;
using Elmo.Kernels.Gemm;
using Elmo.Kernels.Recurrent;

namespace Elmo.Core;

/// <summary>
/// Runs one LSTM layer of one direction over a batch of variable-length sequences laid out as the output layers are
/// (row r, time t at <c>r · rowStride + t · timeStride</c>): the input is read from the previous layer's slab and the
/// output written straight into this layer's, with no compact copies. The input projection of a block of time steps
/// is one GEMM; each step then does only the recurrent GEMM, the fused gate kernel and the projection, over the rows
/// that are still running (a prefix of the rows sorted by length). Given an <see cref="InputTable"/> (the first layer,
/// whose inputs are token vectors), inputs that recur are projected once per batch and copied where they occur.
/// </summary>
internal static class LstmLayerRunner
{
    /// <summary>
    /// Rows (positions) of one input-projection block: consecutive time steps are taken until their running rows add up to
    /// this, so the GEMM stays about as tall at the end of a batch, where few rows still run, as at its start, and W_x is
    /// streamed from memory once per block. With 4C = 16384 the block's pre-activations take 4 MiB.
    /// </summary>
    private const int BlockRows = 64;

    /// <param name="w">The layer's weights.</param>
    /// <param name="o">Clips.</param>
    /// <param name="backward">Read each row from its last position to its first.</param>
    /// <param name="input">Layer input: the vector of row r, time t (<c>input_dim</c> wide) starts at <c>r · rowStride + t · timeStride</c>.</param>
    /// <param name="output">Layer output (P wide per position, before any skip connection), same layout as <paramref name="input"/>.</param>
    /// <param name="rowStride">Floats between the first positions of consecutive rows.</param>
    /// <param name="timeStride">Floats between consecutive time steps of a row.</param>
    /// <param name="lengths">Positions of each row.</param>
    /// <param name="order">Rows sorted by length, longest first.</param>
    /// <param name="hidden">Initial output state per row (<c>rows × P</c>), replaced by the final one.</param>
    /// <param name="cell">Initial memory cell per row (<c>rows × C</c>), replaced by the final one.</param>
    /// <param name="ws">Scratch of this direction.</param>
    /// <param name="threads">Threads the GEMMs may use.</param>
    /// <param name="table">Inputs shared by many positions (the first layer's token vectors), whose input projection is
    /// computed once per distinct input; null to project every position.</param>
    public static void Run(
        LstmLayerWeights w, LstmOptions o, bool backward,
        ReadOnlySpan<float> input, Span<float> output, int rowStride, int timeStride, ReadOnlySpan<int> lengths, ReadOnlySpan<int> order,
        Span<float> hidden, Span<float> cell, Workspace ws, int threads, InputTable? table = null)
    {
        int rows = order.Length;
        if (rows == 0) return;
        int p = o.ProjectionDim, c = o.CellDim, g = 4 * c;
        int inDim = w.Input.Rows;
        int maxLen = lengths[order[0]];

        // State in sorted order, so that the rows still running are always a prefix.
        Span<float> hs = ws.Floats("lstm.h", (long)rows * p);
        Span<float> cs = ws.Floats("lstm.c", (long)rows * c);
        for (int i = 0; i < rows; i++)
        {
            hidden.Slice(order[i] * p, p).CopyTo(hs.Slice(i * p, p));
            cell.Slice(order[i] * c, c).CopyTo(cs.Slice(i * c, c));
        }

        // active[t]: rows with length > t.
        Span<int> active = ws.Ints("lstm.active", maxLen);
        for (int t = 0, n = rows; t < maxLen; t++)
        {
            while (n > 0 && lengths[order[n - 1]] <= t) n--;
            active[t] = n;
        }

        int blockRows = Math.Max(BlockRows, rows);
        Span<float> pre = ws.Floats("lstm.pre", (long)blockRows * g);
        Span<float> xs = ws.Floats("lstm.x", (long)blockRows * inDim);
        Span<float> hpre = ws.Floats("lstm.hpre", (long)rows * c);
        bool clipCell = o.CellClip is > 0;
        float cellClip = o.CellClip ?? 0f;
        float projClip = o.ProjectionClip ?? 0f;

        // With a table: its input projections (x·W_x once per distinct input), missing[t] = the rows of step t
        // whose input is not in it, and each step's gates assembled from the table and the block's projected rows.
        // Without: pre holds every row of the block, and a step's gates are a slice of it.
        Span<float> tablePre = default, stepGates = default;
        Span<int> missing = active, source = default;
        int blockPositions = blockRows;
        if (table is not null)
        {
            if (table.Inputs.Length < (long)table.Count * inDim) throw new ArgumentException("The input table is shorter than its count.", nameof(table));
            tablePre = ws.Floats("lstm.table", (long)table.Count * g);
            Gemm.Multiply(table.Inputs, table.Count, inDim, w.Input, tablePre, g, accumulate: false, threads);
            stepGates = ws.Floats("lstm.gates", (long)rows * g);
            missing = ws.Ints("lstm.missing", maxLen);
            blockPositions = 0;
            for (int t = 0; t < maxLen; t++)
            {
                int n = 0;
                for (int i = 0; i < active[t]; i++)
                {
                    int r = order[i];
                    if (table.RowAt(r, backward ? lengths[r] - 1 - t : t) < 0) n++;
                }
                missing[t] = n;
                blockPositions += active[t];
            }
            source = ws.Ints("lstm.source", blockPositions);
        }
        Span<int> positions = ws.Ints("lstm.pos", blockPositions);

        for (int t0 = 0, t1; t0 < maxLen; t0 = t1)
        {
            // Steps t0…t1−1: at least one, then as many as keep the rows to project within blockRows (so W_x is streamed
            // once per ~blockRows projected rows, also at the end of a batch where few rows still run).
            int project = missing[t0];
            for (t1 = t0 + 1; t1 < maxLen && project + missing[t1] <= blockRows; t1++) project += missing[t1];

            // Gather the inputs to project, time-major: (mx, inDim); pre = x·W_x: (mx, 4C). The bias is added last, in the
            // gate kernel: summed from zero, the products keep their own scale (the forget gate's bias is near 1).
            // source[m] of position m of the block: its table row, or −1 − its row in pre.
            int m = 0, mx = 0;
            for (int t = t0; t < t1; t++)
            {
                for (int i = 0; i < active[t]; i++)
                {
                    int r = order[i];
                    int tr = backward ? lengths[r] - 1 - t : t;
                    int pos = r * rowStride + tr * timeStride;
                    positions[m] = pos;
                    int shared = table is null ? -1 : table.RowAt(r, tr);
                    if (shared < 0)
                    {
                        input.Slice(pos, inDim).CopyTo(xs.Slice(mx * inDim, inDim));
                        shared = -1 - mx++;
                    }
                    if (table is not null) source[m] = shared;
                    m++;
                }
            }
            Gemm.Multiply(xs, mx, inDim, w.Input, pre, g, accumulate: false, threads);

            int row0 = 0;
            for (int t = t0; t < t1; t++)
            {
                int n = active[t];
                Span<float> gates;
                if (table is null)
                {
                    gates = pre.Slice(row0 * g, n * g);
                }
                else
                {
                    gates = stepGates[..(n * g)];
                    for (int i = 0; i < n; i++)
                    {
                        int s = source[row0 + i];
                        (s >= 0 ? tablePre.Slice(s * g, g) : pre.Slice((-1 - s) * g, g)).CopyTo(gates.Slice(i * g, g));
                    }
                }

                // gates += h_prev · W_h: (n, P) × (P, 4C)
                Gemm.Multiply(hs, n, p, w.Recurrent, gates, g, accumulate: true, threads);

                // c = σ(i)·tanh(j) + σ(f)·c (clipped); hpre = σ(o)·tanh(c): (n, C)
                for (int i = 0; i < n; i++)
                {
                    LstmCell.Step(gates.Slice(i * g, g), w.Bias, cs.Slice(i * c, c), hpre.Slice(i * c, c), clipCell ? cellClip : 0f);
                }

                // h = clip(hpre · W_P): (n, C) × (C, P) -> (n, P), written over the previous h
                Gemm.Multiply(hpre, n, c, w.Projection, hs, p, accumulate: false, threads);
                if (projClip > 0) Clip.Apply(hs[..(n * p)], projClip);

                for (int i = 0; i < n; i++)
                {
                    hs.Slice(i * p, p).CopyTo(output.Slice(positions[row0 + i], p));
                }
                row0 += n;
            }
        }

        for (int i = 0; i < rows; i++)
        {
            hs.Slice(i * p, p).CopyTo(hidden.Slice(order[i] * p, p));
            cs.Slice(i * c, c).CopyTo(cell.Slice(order[i] * c, c));
        }
    }
}

/// <summary>
/// The distinct inputs of a layer that many positions share (the first LSTM layer's input is a token vector, the same
/// wherever the token occurs): row <c>RowOf[Offsets[r] + t]</c> of <see cref="Inputs"/> is the input of row r at time t,
/// or −1 where the position's input is read from the layer input as usual.
/// </summary>
/// <param name="Inputs">The distinct inputs, <c>Count × input_dim</c>.</param>
/// <param name="Count">Number of distinct inputs.</param>
/// <param name="Offsets">First entry of each row in <paramref name="RowOf"/>.</param>
/// <param name="RowOf">Table row of every position, rows one after the other, or −1.</param>
internal sealed record InputTable(float[] Inputs, int Count, int[] Offsets, int[] RowOf)
{
    /// <summary>The table row of row <paramref name="row"/>'s input at time <paramref name="t"/>, or −1.</summary>
    public int RowAt(int row, int t) => RowOf[Offsets[row] + t];
}
