using Elmo.Core;
using PureHDF;

namespace Elmo.Tests.Support;

/// <summary>
/// A textbook biLM written straight from the bilm-tf equations, every stage in double precision with plain loops
/// (the float32 weights widened exactly), reading the datasets by name. Slow and obviously correct: the engine is
/// checked against it on architectures the reference data does not cover, and it is the float64 oracle of
/// <c>Float64OracleTests</c>. Matrix loops run over rows of the bilm-tf layout (contiguous), so the full-size
/// model takes seconds per sentence, not minutes; in double precision the order of the sums does not matter at
/// the float32 scale.
/// </summary>
internal sealed class NaiveBiLm
{
    private readonly ElmoOptions _o;
    private readonly Dictionary<string, float[]> _w = new();

    public NaiveBiLm(ElmoOptions options, string weightsPath)
    {
        _o = options;
        using var file = H5File.OpenRead(weightsPath);
        foreach (var (name, _) in RandomWeights.Layout(options))
        {
            _w[name] = file.Dataset(name).Read<float[]>();
        }
    }

    /// <summary>The weights of <see cref="RandomWeights.Create"/> with <paramref name="seed"/>, without a file.</summary>
    public NaiveBiLm(ElmoOptions options, ulong seed)
    {
        _o = options;
        var source = RandomWeights.Source(seed);
        foreach (var (name, shape) in RandomWeights.Layout(options))
        {
            _w[name] = source.Read(name, shape);
        }
    }

    /// <summary>The dataset <paramref name="name"/> of the bilm-tf layout.</summary>
    public float[] Weight(string name) => _w[name];

    /// <summary>Token representation (P) of one token.</summary>
    public double[] Token(string token)
    {
        var mapper = new CharacterMapper(_o.CharCnn.MaxCharactersPerToken);
        return TokenFromIds(mapper.Map(token));
    }

    private double[] TokenFromIds(int[] ids)
    {
        var cnn = _o.CharCnn;
        int d = cnn.EmbeddingDim, chars = cnn.MaxCharactersPerToken;
        var emb = _w["char_embed"];
        double E(int pos, int ch) => ids[pos] == 0 ? 0 : emb[(ids[pos] - 1) * d + ch];
        var x = new List<double>();
        for (int i = 0; i < cnn.Filters.Count; i++)
        {
            var (w, n) = cnn.Filters[i];
            var k = _w[$"CNN/W_cnn_{i}"];
            var b = _w[$"CNN/b_cnn_{i}"];
            for (int f = 0; f < n; f++)
            {
                double best = double.NegativeInfinity;
                for (int p = 0; p + w <= chars; p++)
                {
                    double s = b[f];
                    for (int dw = 0; dw < w; dw++)
                        for (int ch = 0; ch < d; ch++)
                            s += E(p + dw, ch) * k[(dw * d + ch) * n + f];
                    best = Math.Max(best, s);
                }
                x.Add(cnn.Activation == CharActivation.Tanh ? Math.Tanh(best) : Math.Max(0, best));
            }
        }
        var h = x.ToArray();
        int nf = h.Length;
        for (int l = 0; l < cnn.HighwayLayers; l++)
        {
            var wt = _w[$"CNN_high_{l}/W_transform"]; var bt = _w[$"CNN_high_{l}/b_transform"];
            var wc = _w[$"CNN_high_{l}/W_carry"]; var bc = _w[$"CNN_high_{l}/b_carry"];
            var t = bt.Select(v => (double)v).ToArray();
            var c = bc.Select(v => (double)v).ToArray();
            for (int i = 0; i < nf; i++)
            {
                for (int j = 0; j < nf; j++) { t[j] += h[i] * wt[i * nf + j]; c[j] += h[i] * wc[i * nf + j]; }
            }
            var y = new double[nf];
            for (int j = 0; j < nf; j++)
            {
                double g = 1 / (1 + Math.Exp(-c[j]));
                y[j] = g * Math.Max(0, t[j]) + (1 - g) * h[j];
            }
            h = y;
        }
        if (!_o.HasProjection) return h;
        int pdim = _o.Lstm.ProjectionDim;
        var wp = _w["CNN_proj/W_proj"]; var bp = _w["CNN_proj/b_proj"];
        var r = bp.Select(v => (double)v).ToArray();
        for (int i = 0; i < nf; i++)
        {
            for (int j = 0; j < pdim; j++) r[j] += h[i] * wp[i * pdim + j];
        }
        return r;
    }

    /// <summary>All layers of one sentence from zero state: [layer][position incl. boundaries][2P].</summary>
    public double[][][] Sentence(IReadOnlyList<string> tokens)
    {
        int p = _o.Lstm.ProjectionDim, c = _o.Lstm.CellDim, layers = _o.Lstm.Layers;
        var seq = new List<double[]> { Token("<S>") };
        seq.AddRange(tokens.Select(Token));
        seq.Add(Token("</S>"));
        int n = seq.Count;
        var result = new double[layers + 1][][];
        result[0] = seq.Select(v => v.Concat(v).ToArray()).ToArray();
        var inputs = new double[2][][] { seq.ToArray(), seq.ToArray() };
        for (int l = 0; l < layers; l++)
        {
            var outs = new double[2][][];
            for (int dir = 0; dir < 2; dir++)
            {
                string prefix = $"RNN_{dir}/RNN/MultiRNNCell/Cell{l}/LSTMCell";
                var w0 = _w[$"{prefix}/W_0"]; var bias = _w[$"{prefix}/B"]; var wp = _w[$"{prefix}/W_P_0"];
                var h = new double[p]; var cell = new double[c];
                outs[dir] = new double[n][];
                for (int step = 0; step < n; step++)
                {
                    int t = dir == 0 ? step : n - 1 - step;
                    var x = inputs[dir][t];
                    var z = bias.Select(v => (double)v).ToArray();
                    for (int i = 0; i < 2 * p; i++)
                    {
                        double xi = i < p ? x[i] : h[i - p];
                        for (int j = 0; j < 4 * c; j++) z[j] += xi * w0[i * 4 * c + j];
                    }
                    var hpre = new double[c];
                    for (int j = 0; j < c; j++)
                    {
                        double ig = Sig(z[j]), jg = Math.Tanh(z[c + j]), fg = Sig(z[2 * c + j] + 1.0), og = Sig(z[3 * c + j]);
                        cell[j] = ig * jg + fg * cell[j];
                        if (_o.Lstm.CellClip is float cc) cell[j] = Math.Clamp(cell[j], -cc, cc);
                        hpre[j] = og * Math.Tanh(cell[j]);
                    }
                    var hn = new double[p];
                    for (int i = 0; i < c; i++)
                    {
                        for (int j = 0; j < p; j++) hn[j] += hpre[i] * wp[i * p + j];
                    }
                    if (_o.Lstm.ProjectionClip is float pc)
                    {
                        for (int j = 0; j < p; j++) hn[j] = Math.Clamp(hn[j], -pc, pc);
                    }
                    h = hn;
                    outs[dir][t] = l > 0 && _o.Lstm.UseSkipConnections ? hn.Zip(x, (a, b) => a + b).ToArray() : hn;
                }
            }
            result[l + 1] = Enumerable.Range(0, n).Select(t => outs[0][t].Concat(outs[1][t]).ToArray()).ToArray();
            inputs = outs;
        }
        return result;
    }

    private static double Sig(double v) => 1 / (1 + Math.Exp(-v));
}
