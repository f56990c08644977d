using Elmo.Kernels;
using Elmo.Kernels.Gemm;
using Elmo.Kernels.Recurrent;

namespace Elmo.Core;

/// <summary>
/// Runs one LSTM layer of one direction over a batch of variable-length sequences laid out as the output layers are
/// (row r, time t at <c>r · rowStride + t · timeStride</c>): the input is read from the previous layer's slab and the
/// output written straight into this layer's, with no compact copies. The input projection of a block of time steps
/// is one GEMM; each step then does only the recurrent GEMM, the fused gate kernel and the projection, over the rows
/// that are still running (a prefix of the rows sorted by length).
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
    public static void Run(
        LstmLayerWeights w, LstmOptions o, bool backward,
        ReadOnlySpan<float> input, Span<float> output, int rowStride, int timeStride, ReadOnlySpan<int> lengths, ReadOnlySpan<int> order,
        Span<float> hidden, Span<float> cell, Workspace ws, int threads)
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
        Span<int> positions = ws.Ints("lstm.pos", blockRows);
        bool clipCell = o.CellClip is > 0;
        float cellClip = o.CellClip ?? 0f;
        float projClip = o.ProjectionClip ?? 0f;

        for (int t0 = 0, t1; t0 < maxLen; t0 = t1)
        {
            // Steps t0…t1−1: at least one, then as many as fit in blockRows.
            int sum = active[t0];
            for (t1 = t0 + 1; t1 < maxLen && sum + active[t1] <= blockRows; t1++) sum += active[t1];

            // Gather the block's inputs time-major: (Σ active, inDim); pre = bias + x·W_x: (Σ active, 4C)
            int m = 0;
            for (int t = t0; t < t1; t++)
            {
                for (int i = 0; i < active[t]; i++)
                {
                    int r = order[i];
                    int pos = r * rowStride + (backward ? lengths[r] - 1 - t : t) * timeStride;
                    positions[m] = pos;
                    input.Slice(pos, inDim).CopyTo(xs.Slice(m * inDim, inDim));
                    w.Bias.CopyTo(pre.Slice(m * g, g));
                    m++;
                }
            }
            Gemm.Multiply(xs, m, inDim, w.Input, pre, g, accumulate: true, threads);

            int row0 = 0;
            for (int t = t0; t < t1; t++)
            {
                int n = active[t];
                Span<float> gates = pre.Slice(row0 * g, n * g);

                // gates += h_prev · W_h: (n, P) × (P, 4C)
                Gemm.Multiply(hs, n, p, w.Recurrent, gates, g, accumulate: true, threads);

                // c = σ(i)·tanh(j) + σ(f)·c (clipped); hpre = σ(o)·tanh(c): (n, C)
                for (int i = 0; i < n; i++)
                {
                    LstmCell.Step(gates.Slice(i * g, g), cs.Slice(i * c, c), hpre.Slice(i * c, c), clipCell ? cellClip : 0f);
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
