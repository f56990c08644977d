using System.Diagnostics;
using Elmo.Kernels;
using Elmo.Kernels.Convolution;
using Elmo.Kernels.Gemm;

namespace Elmo.Core;

/// <summary>
/// The context-independent token representation: character embedding → one convolution per filter width
/// → max over positions → activation → highway layers → projection.
/// </summary>
internal static class CharCnnEncoder
{
    /// <summary>Tokens per convolution chunk: bounds the convolution scratch (tokens · positions · filters).</summary>
    private const int ChunkTokens = 16;

    /// <summary>Tokens per highway and projection chunk: bounds that scratch (tokens · 2 · filters) while keeping the GEMMs tall.</summary>
    private const int HighwayChunkTokens = 128;

    /// <summary>
    /// Encodes <paramref name="tokens"/> tokens given by their character ids (<c>tokens × max_chars</c>, +1 shifted)
    /// into <paramref name="destination"/> (<c>tokens × projection_dim</c>).
    /// </summary>
    public static void Encode(ElmoWeights weights, ReadOnlySpan<int> ids, int tokens, Span<float> destination, Workspace ws, int threads, StageTimings? timings = null)
    {
        var o = weights.Options;
        int chars = o.CharCnn.MaxCharactersPerToken, f = o.CharCnn.FilterCount, p = o.Lstm.ProjectionDim;
        for (int t0 = 0; t0 < tokens; t0 += HighwayChunkTokens)
        {
            int n = Math.Min(HighwayChunkTokens, tokens - t0);
            long start = Stopwatch.GetTimestamp();

            // (n, max_chars) ids -> (n, filters)
            Span<float> features = ws.Floats("cnn.features", (long)n * f);
            Convolve(weights, ids.Slice(t0 * chars, n * chars), n, features, ws, threads);
            timings?.AddCharCnn(start);
            start = Stopwatch.GetTimestamp();

            // (n, filters) -> (n, projection_dim)
            HighwayAndProject(weights, features, n, destination.Slice(t0 * p, n * p), ws, threads);
            timings?.AddHighway(start);
        }
    }

    /// <summary>Character embedding, the convolutions, max-pooling and activation: <c>(tokens, max_chars)</c> ids -> <c>(tokens, filters)</c>.</summary>
    private static void Convolve(ElmoWeights weights, ReadOnlySpan<int> ids, int tokens, Span<float> features, Workspace ws, int threads)
    {
        var o = weights.Options;
        int chars = o.CharCnn.MaxCharactersPerToken, d = o.CharCnn.EmbeddingDim, f = o.CharCnn.FilterCount;
        bool tanh = o.CharCnn.Activation == CharActivation.Tanh;
        for (int t0 = 0; t0 < tokens; t0 += ChunkTokens)
        {
            int n = Math.Min(ChunkTokens, tokens - t0);

            // (n, chars) ids -> (n · chars, d) embeddings
            Span<float> embedded = ws.Floats("cnn.embedded", (long)n * chars * d);
            var table = weights.CharEmbedding;
            for (int i = 0; i < n * chars; i++)
            {
                table.AsSpan(ids[t0 * chars + i] * d, d).CopyTo(embedded.Slice(i * d, d));
            }

            // Per width w: a valid convolution is a GEMM whose A rows are overlapping windows of w·d values
            // (stride d): (n · chars − w + 1, w·d) × (w·d, filters) -> max over chars − w + 1 positions per token.
            int column = 0;
            foreach (var conv in weights.Convolutions)
            {
                int w = conv.Width, nf = conv.Kernel.Columns;
                int rows = n * chars - w + 1;
                Span<float> convolved = ws.Floats("cnn.convolved", (long)n * chars * nf);
                Gemm.Multiply(embedded, rows, d, conv.Kernel, convolved, nf, accumulate: false, threads);
                MaxPool.Apply(convolved, n, chars, chars - w + 1, nf, conv.Bias, tanh, features.Slice(t0 * f + column), f);
                column += nf;
            }
        }
    }

    /// <summary>Highway layers, then the projection: <c>(tokens, filters)</c> -> <c>(tokens, projection_dim)</c>; <paramref name="features"/> is overwritten.</summary>
    private static void HighwayAndProject(ElmoWeights weights, Span<float> features, int tokens, Span<float> destination, Workspace ws, int threads)
    {
        int f = weights.Options.CharCnn.FilterCount, p = weights.Options.Lstm.ProjectionDim;

        // Highway layers: (tokens, f) -> (tokens, f)
        foreach (var hw in weights.Highways)
        {
            Span<float> gates = ws.Floats("cnn.highway", (long)tokens * 2 * f);
            for (int t = 0; t < tokens; t++) hw.Bias.CopyTo(gates.Slice(t * 2 * f, 2 * f));
            Gemm.Multiply(features, tokens, f, hw.TransformAndCarry, gates, 2 * f, accumulate: true, threads);
            for (int t = 0; t < tokens; t++) Highway.Combine(features.Slice(t * f, f), gates.Slice(t * 2 * f, 2 * f));
        }

        // Projection: (tokens, f) -> (tokens, p)
        if (weights.Projection is { } proj)
        {
            for (int t = 0; t < tokens; t++) weights.ProjectionBias!.CopyTo(destination.Slice(t * p, p));
            Gemm.Multiply(features, tokens, f, proj, destination, p, accumulate: true, threads);
        }
        else
        {
            features[..(tokens * f)].CopyTo(destination);
        }
    }
}
