using Elmo.Core;
using Elmo.Kernels;
using Elmo.Kernels.Convolution;
using Elmo.Kernels.Gemm;
using Elmo.Kernels.Recurrent;
using Elmo.Tests.Support;

namespace Elmo.Tests.Accuracy;

/// <summary>
/// Where the float32 error enters, stage by stage, on the original architecture (random weights, seed 1) and the
/// first sentences of ../shared/bench/corpus.txt: two tracks run side by side, the exact one (double precision,
/// every stage) and ours (the engine's kernels in float32, chained). Per stage it prints the <b>local</b> error (our
/// kernel on the float32-rounded exact input, against the exact stage on that same input: what the stage itself
/// adds) and the <b>cumulative</b> error (our chained track against the exact one). <c>stage_probe.py</c> in
/// docs/accuracy.md measures PyTorch's local errors the same way. Run on demand:
/// <c>dotnet test Elmo.Tests -c Release --filter FullyQualifiedName~StageErrorProbe --logger "console;verbosity=detailed"</c>.
/// </summary>
[Explicit("a measurement for docs/accuracy.md, not a check")]
[Category("AccuracyProbe")]
public class StageErrorProbe
{
    private sealed class Stat(string name)
    {
        private double _max, _sum, _mag;
        private long _n;

        public string Name { get; } = name;

        public void Add(double ours, double exact)
        {
            double e = Math.Abs(ours - exact);
            _max = Math.Max(_max, e);
            _sum += e;
            _n++;
            _mag = Math.Max(_mag, Math.Abs(exact));
        }

        public override string ToString() => _n == 0 ? "–" : $"{_max:E2} / {_sum / _n:E2} (|x| ≤ {_mag:G3})";
    }

    private readonly List<(string Stage, Stat Local, Stat? Cumulative)> _rows = [];

    private (Stat Local, Stat Cumulative) Row(string stage)
    {
        var row = (stage, new Stat(stage), new Stat(stage));
        _rows.Add(row);
        return (row.Item2, row.Item3);
    }

    private static float R(double x) => (float)x;

    [Test]
    public void Stages()
    {
        var o = ModelPresets.Original;
        var weights = RandomWeights.Create(o, 1);
        var naive = new NaiveBiLm(o, 1);
        int sentenceCount = int.Parse(Environment.GetEnvironmentVariable("PROBE_SENTENCES") ?? "4");
        string corpus = Path.Combine(TestContext.CurrentContext.TestDirectory, "../../../../../shared/bench/corpus.txt");
        var sentences = File.ReadLines(corpus).Take(sentenceCount).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToArray();
        var cnn = o.CharCnn;
        int d = cnn.EmbeddingDim, chars = cnn.MaxCharactersPerToken, f = cnn.FilterCount, p = o.Lstm.ProjectionDim, c = o.Lstm.CellDim;
        var mapper = new CharacterMapper(chars);

        // ---- Character CNN, highway, projection: every distinct token (boundaries included).
        var tokens = sentences.SelectMany(s => s).Prepend("<S>").Append("</S>").Distinct().ToArray();
        var conv = Enumerable.Range(0, cnn.Filters.Count).Select(i => Row($"convolution, width {cnn.Filters[i].Width} (K = {cnn.Filters[i].Width * d})")).ToArray();
        var pool = Row("max-pool, + bias, relu");
        var hwGemm = new (Stat Local, Stat Cumulative)[cnn.HighwayLayers];
        var hwCombine = new (Stat Local, Stat Cumulative)[cnn.HighwayLayers];
        for (int l = 0; l < cnn.HighwayLayers; l++)
        {
            hwGemm[l] = Row($"highway {l}: x·[W_t|W_c] + b (K = {f})");
            hwCombine[l] = Row($"highway {l}: g·relu(t) + (1 − g)·x");
        }
        var proj = Row($"projection (K = {f}) = layer 0");
        var tokenExact = new Dictionary<string, double[]>();
        var tokenOurs = new Dictionary<string, float[]>();
        foreach (string token in tokens)
        {
            int[] ids = mapper.Map(token);
            var emb = new float[chars * d];
            for (int i = 0; i < chars; i++) weights.CharEmbedding.AsSpan(ids[i] * d, d).CopyTo(emb.AsSpan(i * d));
            var xExact = new double[f];
            var xOurs = new float[f];
            int column = 0;
            for (int i = 0; i < cnn.Filters.Count; i++)
            {
                var (w, n) = cnn.Filters[i];
                var kernel = naive.Weight($"CNN/W_cnn_{i}");
                var bias = naive.Weight($"CNN/b_cnn_{i}");
                int positions = chars - w + 1;
                var ours = new float[positions * n];
                Gemm.Multiply(emb, positions, d, weights.Convolutions[i].Kernel, ours, n, accumulate: false);
                var exact = new double[positions * n];
                for (int q = 0; q < positions; q++)
                {
                    for (int k = 0; k < w * d; k++)
                    {
                        double a = emb[q * d + k];
                        for (int j = 0; j < n; j++) exact[q * n + j] += a * kernel[k * n + j];
                    }
                }
                for (int q = 0; q < exact.Length; q++) { conv[i].Local.Add(ours[q], exact[q]); conv[i].Cumulative.Add(ours[q], exact[q]); }

                // Pool: local on the rounded exact convolution; cumulative on ours.
                var rounded = exact.Select(R).ToArray();
                var pooledLocal = new float[n];
                MaxPool.Apply(rounded, 1, positions, positions, n, bias, tanh: false, pooledLocal, n);
                MaxPool.Apply(ours, 1, positions, positions, n, bias, tanh: false, xOurs.AsSpan(column, n), f);
                for (int j = 0; j < n; j++)
                {
                    double mExact = double.NegativeInfinity, mRounded = double.NegativeInfinity;
                    for (int q = 0; q < positions; q++) { mExact = Math.Max(mExact, exact[q * n + j]); mRounded = Math.Max(mRounded, rounded[q * n + j]); }
                    xExact[column + j] = Math.Max(0, mExact + bias[j]);
                    pool.Local.Add(pooledLocal[j], Math.Max(0, mRounded + bias[j]));
                    pool.Cumulative.Add(xOurs[column + j], xExact[column + j]);
                }
                column += n;
            }

            for (int l = 0; l < cnn.HighwayLayers; l++)
            {
                var hw = weights.Highways[l];
                var (preExact, _) = HighwayPre(naive, l, xExact, f);
                var (preLocalExact, inRounded) = HighwayPre(naive, l, xExact.Select(R).Select(v => (double)v).ToArray(), f);
                var preLocal = new float[2 * f];
                hw.Bias.CopyTo(preLocal, 0);
                Gemm.Multiply(inRounded, 1, f, hw.TransformAndCarry, preLocal, 2 * f, accumulate: true);
                var preOurs = new float[2 * f];
                hw.Bias.CopyTo(preOurs, 0);
                Gemm.Multiply(xOurs, 1, f, hw.TransformAndCarry, preOurs, 2 * f, accumulate: true);
                for (int j = 0; j < 2 * f; j++) { hwGemm[l].Local.Add(preLocal[j], preLocalExact[j]); hwGemm[l].Cumulative.Add(preOurs[j], preExact[j]); }

                // Combine: local on rounded exact inputs.
                var xr = xExact.Select(R).ToArray();
                var prer = preExact.Select(R).ToArray();
                var combLocal = (float[])xr.Clone();
                Highway.Combine(combLocal, prer);
                var next = new double[f];
                for (int j = 0; j < f; j++)
                {
                    double g = 1 / (1 + Math.Exp(-(double)prer[f + j]));
                    hwCombine[l].Local.Add(combLocal[j], g * Math.Max(0, prer[j]) + (1 - g) * xr[j]);
                    double ge = 1 / (1 + Math.Exp(-preExact[f + j]));
                    next[j] = ge * Math.Max(0, preExact[j]) + (1 - ge) * xExact[j];
                }
                Highway.Combine(xOurs, preOurs);
                for (int j = 0; j < f; j++) hwCombine[l].Cumulative.Add(xOurs[j], next[j]);
                xExact = next;
            }

            var wp = naive.Weight("CNN_proj/W_proj");
            var bp = naive.Weight("CNN_proj/b_proj");
            var pe = Project(xExact, wp, bp, f, p);
            var xrd = xExact.Select(R).ToArray();
            var pl = Project(xrd.Select(v => (double)v).ToArray(), wp, bp, f, p);
            var projLocal = (float[])weights.ProjectionBias!.Clone();
            Gemm.Multiply(xrd, 1, f, weights.Projection!, projLocal, p, accumulate: true);
            var projOurs = (float[])weights.ProjectionBias!.Clone();
            Gemm.Multiply(xOurs, 1, f, weights.Projection!, projOurs, p, accumulate: true);
            for (int j = 0; j < p; j++) { proj.Local.Add(projLocal[j], pl[j]); proj.Cumulative.Add(projOurs[j], pe[j]); }
            tokenExact[token] = pe;
            tokenOurs[token] = projOurs;
        }

        // ---- LSTM, forward direction, layers 1 and 2, each sentence from zero state.
        var gatesRow = new (Stat Local, Stat Cumulative)[o.Lstm.Layers];
        var cellRow = new (Stat Local, Stat Cumulative)[o.Lstm.Layers];
        var hpreRow = new (Stat Local, Stat Cumulative)[o.Lstm.Layers];
        var projRow = new (Stat Local, Stat Cumulative)[o.Lstm.Layers];
        var skipRow = new (Stat Local, Stat Cumulative)[o.Lstm.Layers];
        for (int l = 0; l < o.Lstm.Layers; l++)
        {
            gatesRow[l] = Row($"LSTM layer {l + 1}: gates = b + x·W_x + h·W_h (K = {p} + {p})");
            cellRow[l] = Row($"LSTM layer {l + 1}: cell c = σ(i)·tanh(j) + σ(f)·c, clip");
            hpreRow[l] = Row($"LSTM layer {l + 1}: σ(o)·tanh(c)");
            projRow[l] = Row($"LSTM layer {l + 1}: projection (K = {c}), clip");
            skipRow[l] = Row(l == 0 ? $"layer 1 output" : $"LSTM layer {l + 1}: + skip connection = layer {l + 1}");
        }
        var sig = (double v) => 1 / (1 + Math.Exp(-v));
        foreach (var sentence in sentences)
        {
            var seq = sentence.Prepend("<S>").Append("</S>").ToArray();
            var inExact = seq.Select(t => tokenExact[t]).ToArray();
            var inOurs = seq.Select(t => tokenOurs[t]).ToArray();
            for (int l = 0; l < o.Lstm.Layers; l++)
            {
                var lw = weights.Lstm[0][l];
                string prefix = $"RNN_0/RNN/MultiRNNCell/Cell{l}/LSTMCell";
                var w0 = naive.Weight($"{prefix}/W_0");
                var b0 = naive.Weight($"{prefix}/B");
                var wpl = naive.Weight($"{prefix}/W_P_0");
                double[] h = new double[p], cell = new double[c];
                float[] hO = new float[p], cellO = new float[c];
                var outExact = new double[seq.Length][];
                var outOurs = new float[seq.Length][];
                for (int t = 0; t < seq.Length; t++)
                {
                    // Gates.
                    double[] Gates(double[] x, double[] hh)
                    {
                        var z = new double[4 * c];
                        for (int j = 0; j < 4 * c; j++) z[j] = b0[j] + (j >= 2 * c && j < 3 * c ? 1.0 : 0.0);
                        for (int i = 0; i < 2 * p; i++)
                        {
                            double xi = i < p ? x[i] : hh[i - p];
                            for (int j = 0; j < 4 * c; j++) z[j] += xi * w0[i * 4 * c + j];
                        }
                        return z;
                    }
                    float[] GatesOurs(float[] x, float[] hh)
                    {
                        // As the engine: the products summed from zero, the bias added last (in the gate kernel, one rounding).
                        var z = new float[4 * c];
                        Gemm.Multiply(x, 1, p, lw.Input, z, 4 * c, accumulate: false);
                        Gemm.Multiply(hh, 1, p, lw.Recurrent, z, 4 * c, accumulate: true);
                        for (int j = 0; j < z.Length; j++) z[j] += lw.Bias[j];
                        return z;
                    }
                    var zExact = Gates(inExact[t], h);
                    var xr = inExact[t].Select(R).ToArray();
                    var hr = h.Select(R).ToArray();
                    var zLocalExact = Gates(xr.Select(v => (double)v).ToArray(), hr.Select(v => (double)v).ToArray());
                    var zLocal = GatesOurs(xr, hr);
                    var zOurs = GatesOurs(inOurs[t], hO);
                    for (int j = 0; j < 4 * c; j++) { gatesRow[l].Local.Add(zLocal[j], zLocalExact[j]); gatesRow[l].Cumulative.Add(zOurs[j], zExact[j]); }

                    // Cell and σ(o)·tanh(c): exact in double; local from rounded exact gates and cell.
                    (double[] Cell, double[] Hpre) CellStep(double[] z, double[] cPrev)
                    {
                        var cn = new double[c];
                        var hp = new double[c];
                        for (int j = 0; j < c; j++)
                        {
                            double m = sig(z[j]) * Math.Tanh(z[c + j]) + sig(z[2 * c + j]) * cPrev[j];
                            m = Math.Clamp(m, -o.Lstm.CellClip!.Value, o.Lstm.CellClip!.Value);
                            cn[j] = m;
                            hp[j] = sig(z[3 * c + j]) * Math.Tanh(m);
                        }
                        return (cn, hp);
                    }
                    var (cellExact, hpreExact) = CellStep(zExact, cell);
                    var zr = zExact.Select(R).ToArray();
                    var cr = cell.Select(R).ToArray();
                    var (cellLocalExact, _) = CellStep(zr.Select(v => (double)v).ToArray(), cr.Select(v => (double)v).ToArray());
                    var cellLocal = (float[])cr.Clone();
                    var hpreLocal = new float[c];
                    LstmCell.Step(zr, cellLocal, hpreLocal, o.Lstm.CellClip!.Value);
                    // σ(o)·tanh(c) local: on the exact cell rounded (so the cell's own error is not counted twice).
                    var hpreLocalExact = new double[c];
                    for (int j = 0; j < c; j++) hpreLocalExact[j] = sig(zr[3 * c + j]) * Math.Tanh(cellLocal[j]);
                    var hpreOurs = new float[c];
                    LstmCell.Step(zOurs, cellO, hpreOurs, o.Lstm.CellClip!.Value);
                    for (int j = 0; j < c; j++)
                    {
                        cellRow[l].Local.Add(cellLocal[j], cellLocalExact[j]);
                        cellRow[l].Cumulative.Add(cellO[j], cellExact[j]);
                        hpreRow[l].Local.Add(hpreLocal[j], hpreLocalExact[j]);
                        hpreRow[l].Cumulative.Add(hpreOurs[j], hpreExact[j]);
                    }
                    cell = cellExact;

                    // Projection and clip.
                    double[] Proj(double[] hp)
                    {
                        var r = new double[p];
                        for (int i = 0; i < c; i++)
                        {
                            for (int j = 0; j < p; j++) r[j] += hp[i] * wpl[i * p + j];
                        }
                        for (int j = 0; j < p; j++) r[j] = Math.Clamp(r[j], -o.Lstm.ProjectionClip!.Value, o.Lstm.ProjectionClip!.Value);
                        return r;
                    }
                    var hExact = Proj(hpreExact);
                    var hpr = hpreExact.Select(R).ToArray();
                    var hLocalExact = Proj(hpr.Select(v => (double)v).ToArray());
                    var hLocal = new float[p];
                    Gemm.Multiply(hpr, 1, c, lw.Projection, hLocal, p, accumulate: false);
                    Clip.Apply(hLocal, o.Lstm.ProjectionClip!.Value);
                    Gemm.Multiply(hpreOurs, 1, c, lw.Projection, hO, p, accumulate: false);
                    Clip.Apply(hO, o.Lstm.ProjectionClip!.Value);
                    for (int j = 0; j < p; j++) { projRow[l].Local.Add(hLocal[j], hLocalExact[j]); projRow[l].Cumulative.Add(hO[j], hExact[j]); }
                    h = hExact;

                    // Output, with the skip connection after the first layer.
                    if (l == 0)
                    {
                        outExact[t] = hExact;
                        outOurs[t] = (float[])hO.Clone();
                        for (int j = 0; j < p; j++) skipRow[l].Cumulative.Add(hO[j], hExact[j]);
                    }
                    else
                    {
                        outExact[t] = new double[p];
                        outOurs[t] = new float[p];
                        for (int j = 0; j < p; j++)
                        {
                            outExact[t][j] = hExact[j] + inExact[t][j];
                            outOurs[t][j] = hO[j] + inOurs[t][j];
                            skipRow[l].Local.Add(R(hExact[j]) + R(inExact[t][j]), (double)R(hExact[j]) + R(inExact[t][j]));
                            skipRow[l].Cumulative.Add(outOurs[t][j], outExact[t][j]);
                        }
                    }
                }
                inExact = outExact;
                inOurs = outOurs;
            }
        }

        TestContext.Out.WriteLine($"{tokens.Length} distinct tokens, {sentences.Length} sentences ({sentences.Sum(s => s.Length + 2)} positions), forward direction");
        TestContext.Out.WriteLine("| stage | local: max / mean | cumulative: max / mean |");
        TestContext.Out.WriteLine("| --- | --- | --- |");
        foreach (var (stage, local, cumulative) in _rows) TestContext.Out.WriteLine($"| {stage} | {local} | {cumulative} |");
    }

    private static (double[] Pre, float[] Rounded) HighwayPre(NaiveBiLm naive, int l, double[] x, int f)
    {
        var wt = naive.Weight($"CNN_high_{l}/W_transform");
        var wc = naive.Weight($"CNN_high_{l}/W_carry");
        var bt = naive.Weight($"CNN_high_{l}/b_transform");
        var bc = naive.Weight($"CNN_high_{l}/b_carry");
        var pre = new double[2 * f];
        for (int j = 0; j < f; j++) { pre[j] = bt[j]; pre[f + j] = bc[j]; }
        for (int i = 0; i < f; i++)
        {
            double xi = x[i];
            for (int j = 0; j < f; j++) { pre[j] += xi * wt[i * f + j]; pre[f + j] += xi * wc[i * f + j]; }
        }
        return (pre, x.Select(v => (float)v).ToArray());
    }

    private static double[] Project(double[] x, float[] w, float[] b, int f, int p)
    {
        var r = b.Select(v => (double)v).ToArray();
        for (int i = 0; i < f; i++)
        {
            for (int j = 0; j < p; j++) r[j] += x[i] * w[i * p + j];
        }
        return r;
    }
}
