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
    /// <returns>The layers, with boundaries.</returns>
    public static BiLmOutput Forward(ElmoWeights weights, ReadOnlySpan<int> ids, int[] lengths, LstmState state, Scratch scratch, int threads, TokenVectorCache? cache = null, StageTimings? timings = null)
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
        var layers = new float[(long)o.OutputLayers * batch * maxLen * d];
        var x0 = scratch.Forward.Floats("bilm.input", (long)total * p);
        for (int i = 0; i < total; i++) embedded.Slice(tokenOf[i] * p, p).CopyTo(x0.Slice(i * p, p));
        Scatter(layers, 0, batch, maxLen, d, offsets, lengths, x0, p, 0);
        Scatter(layers, 0, batch, maxLen, d, offsets, lengths, x0, p, p);
        x0.CopyTo(scratch.Backward.Floats("bilm.input", (long)total * p));

        // Rows longest first; stable so that equal lengths keep their order.
        var order = Enumerable.Range(0, batch).OrderByDescending(b => lengths[b]).ToArray();
        timings?.AddOther(start);

        for (int l = 0; l < o.Lstm.Layers; l++)
        {
            int layer = l;
            void RunDirection(int dir)
            {
                var dws = dir == 0 ? scratch.Forward : scratch.Backward;
                var input = dws.Floats("bilm.input", (long)total * p);
                var output = dws.Floats("bilm.output", (long)total * p);
                LstmLayerRunner.Run(
                    weights.Lstm[dir][layer], o.Lstm, backward: dir == 1,
                    input, offsets, lengths, order,
                    state.Hidden[layer * 2 + dir], state.Cell[layer * 2 + dir], output, dws, threads > 1 ? Math.Max(1, threads / 2) : 1);
                if (layer > 0 && o.Lstm.UseSkipConnections)
                {
                    TensorPrimitives.Add(output, input, output); // skip connection, after the state was recorded
                }
                output.CopyTo(input); // the next layer's input
            }

            start = Stopwatch.GetTimestamp();
            if (threads > 1 && batch > 0)
            {
                Parallel.Invoke(new ParallelOptions { MaxDegreeOfParallelism = 2 }, () => RunDirection(0), () => RunDirection(1));
            }
            else
            {
                RunDirection(0);
                RunDirection(1);
            }
            timings?.AddLstm(start);
            start = Stopwatch.GetTimestamp();

            Scatter(layers, l + 1, batch, maxLen, d, offsets, lengths, scratch.Forward.Floats("bilm.input", (long)total * p), p, 0);
            Scatter(layers, l + 1, batch, maxLen, d, offsets, lengths, scratch.Backward.Floats("bilm.input", (long)total * p), p, p);
            timings?.AddOther(start);
        }

        var mask = new byte[batch * maxLen];
        for (int b = 0; b < batch; b++) mask.AsSpan(b * maxLen, lengths[b]).Fill(1);
        return new BiLmOutput(layers, mask, (int[])lengths.Clone(), o.OutputLayers, batch, maxLen, d, includesBoundaries: true);
    }

    private static void Scatter(float[] layers, int layer, int batch, int maxLen, int d, int[] offsets, int[] lengths, ReadOnlySpan<float> compact, int p, int column)
    {
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < lengths[b]; t++)
            {
                compact.Slice((offsets[b] + t) * p, p).CopyTo(layers.AsSpan((int)((((long)layer * batch + b) * maxLen + t) * d + column), p));
            }
        }
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
