using System.Diagnostics;
using System.Numerics.Tensors;

namespace Elmo.Core;

/// <summary>
/// The forward pass of the biLM over one batch whose rows already carry their boundary tokens:
/// char CNN over the unique tokens → biLSTM layers, both directions side by side → output layers.
/// </summary>
internal static class BiLm
{
    /// <summary>Runs the batch.</summary>
    /// <param name="weights">The model.</param>
    /// <param name="ids">Character ids of every position, rows one after the other (<c>Σ lengths × max_chars</c>).</param>
    /// <param name="lengths">Positions per row, boundaries included (each ≥ 1).</param>
    /// <param name="state">Initial state per row in, final state per row out.</param>
    /// <param name="scratch">The caller's scratch.</param>
    /// <param name="threads">Threads to use (≥ 2 runs the two directions side by side).</param>
    /// <param name="cache">Precomputed token vectors that replace the char CNN for the tokens they hold.</param>
    /// <param name="timings">Where to add the time of each stage, or null.</param>
    /// <param name="outputBuffer">An array to hold the layers when it is long enough (see
    /// <see cref="BiLmOutput.Allocate"/>: reused as it is, padding not cleared; the result's
    /// <see cref="BiLmOutput.Layers"/> is this array, possibly longer than the output); null or too short: a new array.</param>
    /// <param name="timesteps">At least this many positions per row in the output (more padding), for callers
    /// that reuse <paramref name="outputBuffer"/> across batches with one row layout.</param>
    /// <param name="sharedTableBytes">Budget per direction for the first layer's input projections of recurring tokens
    /// (<see cref="SharedTokenTableBytes"/>; 0 projects every position). The results are the same bits whatever it is.</param>
    /// <returns>The layers, with boundaries.</returns>
    public static BiLmOutput Forward(ElmoWeights weights, ReadOnlySpan<int> ids, int[] lengths, LstmState state, Scratch scratch, int threads, TokenVectorCache? cache = null, StageTimings? timings = null, float[]? outputBuffer = null, int timesteps = 0, int sharedTableBytes = SharedTokenTableBytes)
    {
        long start = Stopwatch.GetTimestamp();
        var o = weights.Options;
        int chars = o.CharCnn.MaxCharactersPerToken, p = o.Lstm.ProjectionDim, d = 2 * p;
        int batch = lengths.Length;
        var offsets = new int[batch];
        int total = 0, maxLen = 0;
        for (int b = 0; b < batch; b++)
        {
            offsets[b] = total;
            total += lengths[b];
            maxLen = Math.Max(maxLen, lengths[b]);
        }
        if (batch > 0) maxLen = Math.Max(maxLen, timesteps);

        // Unique tokens of the batch: the char CNN runs once per distinct id sequence.
        var ws = scratch.Shared;
        var tokenOf = ws.Ints("bilm.token", total);
        var unique = new Dictionary<string, int>();
        var uniqueIds = ws.Ints("bilm.uniqueIds", (long)total * chars);
        for (int i = 0; i < total; i++)
        {
            var tokenIds = ids.Slice(i * chars, chars);
            string key = Key(tokenIds);
            if (!unique.TryGetValue(key, out int u))
            {
                u = unique.Count;
                unique.Add(key, u);
                tokenIds.CopyTo(uniqueIds.Slice(u * chars, chars));
            }
            tokenOf[i] = u;
        }

        // (unique, max_chars) ids -> (unique, P) token representations -> (positions, P)
        int nu = unique.Count;
        var embedded = ws.Floats("bilm.embedded", (long)nu * p);
        timings?.AddOther(start);
        if (cache is null) CharCnnEncoder.Encode(weights, uniqueIds[..(nu * chars)], nu, embedded, ws, threads, timings);
        else cache.Encode(weights, uniqueIds[..(nu * chars)], nu, embedded, ws, threads);
        start = Stopwatch.GetTimestamp();
        // Layer 0: the token representation of every position, duplicated [x, x]: (batch, T, 2P)
        var layers = BiLmOutput.Allocate((long)o.OutputLayers * batch * maxLen * d, outputBuffer);
        for (int r = 0; r < batch; r++)
        {
            for (int t = 0; t < lengths[r]; t++)
            {
                var x = embedded.Slice(tokenOf[offsets[r] + t] * p, p);
                var at = layers.AsSpan((r * maxLen + t) * d, d);
                x.CopyTo(at);
                x.CopyTo(at[p..]);
            }
        }

        // Rows longest first; stable so that equal lengths keep their order.
        var order = Enumerable.Range(0, batch).OrderByDescending(b => lengths[b]).ToArray();
        var table = SharedTokens(embedded, tokenOf, nu, p, offsets, 4 * o.Lstm.CellDim, sharedTableBytes);
        timings?.AddOther(start);

        // Layer l + 1 of direction dir reads that direction's half of layer l and writes its half of layer l + 1,
        // in place in the output: (batch, T, P) per direction, row stride T·2P, time stride 2P.
        int slab = batch * maxLen * d;
        // Each direction is its own stack of layers (layer l + 1 of a direction reads only that direction's layer l),
        // so the two stacks run side by side from the first layer to the last, with no barrier between layers.
        void RunStack(int dir)
        {
            var dws = dir == 0 ? scratch.Forward : scratch.Backward;
            for (int layer = 0; layer < o.Lstm.Layers; layer++)
            {
                var input = layers.AsSpan(layer * slab + dir * p, slab - dir * p);
                var output = layers.AsSpan((layer + 1) * slab + dir * p, slab - dir * p);
                LstmLayerRunner.Run(
                    weights.Lstm[dir][layer], o.Lstm, backward: dir == 1,
                    input, output, maxLen * d, d, lengths, order,
                    state.Hidden[layer * 2 + dir], state.Cell[layer * 2 + dir], dws, threads > 1 ? Math.Max(1, threads / 2) : 1,
                    layer == 0 ? table : null);
                if (layer > 0 && o.Lstm.UseSkipConnections)
                {
                    // Skip connection, after the state was recorded: output += input, position by position.
                    for (int r = 0; r < batch; r++)
                    {
                        for (int t = 0; t < lengths[r]; t++)
                        {
                            int at = (r * maxLen + t) * d;
                            TensorPrimitives.Add(output.Slice(at, p), input.Slice(at, p), output.Slice(at, p));
                        }
                    }
                }
            }
        }

        start = Stopwatch.GetTimestamp();
        if (batch > 0 && threads > 1)
        {
            Parallel.Invoke(new ParallelOptions { MaxDegreeOfParallelism = 2 }, () => RunStack(0), () => RunStack(1));
        }
        else if (batch > 0)
        {
            RunStack(0);
            RunStack(1);
        }
        timings?.AddLstm(start);

        var mask = new byte[batch * maxLen];
        for (int b = 0; b < batch; b++) mask.AsSpan(b * maxLen, lengths[b]).Fill(1);
        return new BiLmOutput(layers, mask, (int[])lengths.Clone(), o.OutputLayers, batch, maxLen, d, includesBoundaries: true);
    }

    /// <summary>Bytes of first-layer input pre-activations kept per direction for tokens that recur in a batch.</summary>
    internal const int SharedTokenTableBytes = 4 << 20;

    /// <summary>
    /// The tokens that occur more than once in the batch, most frequent first, as many as
    /// <paramref name="budget"/> bytes of pre-activations (<paramref name="gates"/> floats each) allow: the first LSTM
    /// layer projects each of them once instead of at every occurrence (on this corpus ~70 % of the positions at batch 64).
    /// Each row of a GEMM is computed alone, so the values are the same bits either way.
    /// </summary>
    private static InputTable? SharedTokens(ReadOnlySpan<float> embedded, ReadOnlySpan<int> tokenOf, int unique, int dim, int[] offsets, int gates, int budget)
    {
        int capacity = budget / (gates * sizeof(float));
        if (capacity == 0 || tokenOf.Length == 0) return null;
        var counts = new int[unique];
        foreach (int u in tokenOf) counts[u]++;
        var chosen = Enumerable.Range(0, unique).Where(u => counts[u] > 1).OrderByDescending(u => counts[u]).ThenBy(u => u).Take(capacity).ToArray();
        if (chosen.Length == 0) return null;
        var rowOfToken = new int[unique];
        Array.Fill(rowOfToken, -1);
        var inputs = new float[chosen.Length * dim];
        for (int i = 0; i < chosen.Length; i++)
        {
            rowOfToken[chosen[i]] = i;
            embedded.Slice(chosen[i] * dim, dim).CopyTo(inputs.AsSpan(i * dim, dim));
        }
        var rowOf = new int[tokenOf.Length];
        for (int i = 0; i < rowOf.Length; i++) rowOf[i] = rowOfToken[tokenOf[i]];
        return new InputTable(inputs, chosen.Length, offsets, rowOf);
    }

    private static string Key(ReadOnlySpan<int> ids)
    {
        Span<char> chars = stackalloc char[ids.Length];
        for (int i = 0; i < ids.Length; i++) chars[i] = (char)ids[i];
        return new string(chars);
    }
}

/// <summary>The scratch of one caller: one workspace for the shared stages and one per direction.</summary>
internal sealed class Scratch
{
    public Workspace Shared { get; } = new();

    public Workspace Forward { get; } = new();

    public Workspace Backward { get; } = new();

    public long SizeInBytes => Shared.SizeInBytes + Forward.SizeInBytes + Backward.SizeInBytes;
}
