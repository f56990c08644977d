namespace Elmo.Core;

/// <summary>How closely one layer of a reduced-precision model follows the float32 model, vector by vector.</summary>
/// <param name="Layer">The layer (0: the token representation, 1…L: the biLSTM layers).</param>
/// <param name="Vectors">Vectors compared (one per token).</param>
/// <param name="MinCosine">The smallest cosine similarity between a vector and its float32 counterpart.</param>
/// <param name="MedianCosine">The median cosine similarity.</param>
/// <param name="MaxAbsDiff">The largest absolute difference of any value.</param>
public sealed record LayerFidelity(int Layer, long Vectors, double MinCosine, double MedianCosine, double MaxAbsDiff);

/// <summary>
/// Measures what a reduced weight precision (<see cref="Elmo.Kernels.Gemm.WeightPrecision"/>) does to the vectors: both
/// models embed the same sentences (boundaries removed), and every token's vector of every layer is compared with the
/// float32 one (cosine similarity and absolute differences, in double precision).
/// </summary>
public static class PrecisionFidelity
{
    /// <summary>Compares <paramref name="candidate"/> with <paramref name="reference"/> over <paramref name="sentences"/>.</summary>
    /// <param name="reference">The float32 model.</param>
    /// <param name="candidate">The same weights in another precision (<see cref="ElmoModel.WithPrecision"/>).</param>
    /// <param name="sentences">Tokenised sentences.</param>
    /// <param name="mode">The state mode of both (default stateless).</param>
    /// <param name="batchSize">Sentences per batch.</param>
    /// <returns>One entry per layer.</returns>
    /// <exception cref="ArgumentException">The models have different architectures.</exception>
    public static IReadOnlyList<LayerFidelity> Compare(ElmoModel reference, ElmoModel candidate, IReadOnlyList<IReadOnlyList<string>> sentences, StateMode mode = StateMode.Stateless, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(sentences);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (reference.Options.ToJson() != candidate.Options.ToJson()) throw new ArgumentException("The models have different architectures.", nameof(candidate));
        var a = reference.CreateSession(mode);
        var b = candidate.CreateSession(mode);
        int layers = reference.Options.OutputLayers;
        var cosines = Enumerable.Range(0, layers).Select(_ => new List<double>()).ToArray();
        var maxDiff = new double[layers];
        for (int start = 0; start < sentences.Count; start += batchSize)
        {
            var batch = sentences.Skip(start).Take(batchSize).ToArray();
            var x = a.Run(batch).WithoutBoundaries();
            var y = b.Run(batch).WithoutBoundaries();
            for (int l = 0; l < layers; l++)
            {
                for (int r = 0; r < batch.Length; r++)
                {
                    for (int t = 0; t < x.Lengths[r]; t++)
                    {
                        var u = x.Vector(l, r, t);
                        var v = y.Vector(l, r, t);
                        double dot = 0, uu = 0, vv = 0;
                        for (int i = 0; i < u.Length; i++)
                        {
                            dot += (double)u[i] * v[i];
                            uu += (double)u[i] * u[i];
                            vv += (double)v[i] * v[i];
                            maxDiff[l] = Math.Max(maxDiff[l], Math.Abs((double)u[i] - v[i]));
                        }
                        cosines[l].Add(uu == 0 && vv == 0 ? 1 : dot / Math.Sqrt(uu * vv));
                    }
                }
            }
        }
        return [.. Enumerable.Range(0, layers).Select(l =>
        {
            var c = cosines[l].Order().ToArray();
            double median = c.Length == 0 ? double.NaN : c.Length % 2 == 1 ? c[c.Length / 2] : (c[c.Length / 2 - 1] + c[c.Length / 2]) / 2;
            return new LayerFidelity(l, c.Length, c.Length == 0 ? double.NaN : c[0], median, maxDiff[l]);
        })];
    }
}
