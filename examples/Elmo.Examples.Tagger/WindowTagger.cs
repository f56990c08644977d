using Elmo.Core;

namespace Elmo.Examples.Tagger;

/// <summary>
/// The task model ELMo is part of: a small token tagger that uses two ELMo representations, as in Peters et al.
/// (2018, §3.3): representation 0 at its input, representation 1 beside its own hidden state at its output.
/// <code>
/// h_t      = tanh(W_in · [r0_{t−1}; r0_t; r0_{t+1}] + b_in)     a window over the input representation
/// logits_t = W_out · [h_t; r1_t] + b_out                       the output layer also sees representation 1
/// loss     = mean_t −log softmax(logits_t)[tag_t]
/// </code>
/// Trained by hand-written backpropagation and Adam; the gradients it computes with respect to r0 and r1 are what
/// <see cref="ElmoModule.Backward"/> turns into the gradients of the two scalar mixes.
/// </summary>
public sealed class WindowTagger
{
    private const float Beta1 = 0.9f, Beta2 = 0.999f, Epsilon = 1e-8f;

    private readonly int _dim, _hidden, _tags, _window;
    private readonly float[] _parameters, _gradients, _m, _v;
    private readonly int _wIn, _bIn, _wOut, _bOut;
    private int _steps;

    /// <summary>Creates the tagger with small random weights.</summary>
    /// <param name="dim">Width of each ELMo representation (2 · projection_dim).</param>
    /// <param name="hidden">Hidden units.</param>
    /// <param name="tags">Number of tags.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    public WindowTagger(int dim, int hidden, int tags, int seed)
    {
        (_dim, _hidden, _tags, _window) = (dim, hidden, tags, 3 * dim);
        // One flat array: W_in (hidden, 3·dim), b_in (hidden), W_out (tags, hidden + dim), b_out (tags).
        _wIn = 0;
        _bIn = _wIn + hidden * _window;
        _wOut = _bIn + hidden;
        _bOut = _wOut + tags * (hidden + dim);
        int count = _bOut + tags;
        (_parameters, _gradients, _m, _v) = (new float[count], new float[count], new float[count], new float[count]);
        var random = new Random(seed);
        for (int i = _wIn; i < _bIn; i++) _parameters[i] = (random.NextSingle() * 2 - 1) / MathF.Sqrt(_window);
        for (int i = _wOut; i < _bOut; i++) _parameters[i] = (random.NextSingle() * 2 - 1) / MathF.Sqrt(hidden + dim);
    }

    /// <summary>
    /// Forward and backward pass over a batch: returns the summed loss and correct predictions, accumulates the
    /// gradients of the tagger's weights, and writes <c>dL/d r0</c> and <c>dL/d r1</c> (each <c>(batch, timesteps, dim)</c>,
    /// the layout of the representations) for <see cref="ElmoModule.Backward"/>. L is the mean loss over
    /// <paramref name="tokenCount"/> tokens.
    /// </summary>
    /// <param name="output">The ELMo representations of the batch (two of them, boundaries removed).</param>
    /// <param name="batch">The tagged sentences, in the rows' order.</param>
    /// <param name="tokenCount">The tokens the loss is averaged over.</param>
    /// <param name="inputGradient">Receives dL/d r0.</param>
    /// <param name="outputGradient">Receives dL/d r1.</param>
    /// <returns>Summed loss and correct predictions.</returns>
    public (double Loss, int Correct) Train(ElmoModuleOutput output, IReadOnlyList<TaggedSentence> batch, int tokenCount, float[] inputGradient, float[] outputGradient)
    {
        Array.Clear(inputGradient);
        Array.Clear(outputGradient);
        double loss = 0;
        int correct = 0;
        Span<float> u = new float[_window], h = new float[_hidden], p = new float[_tags], dh = new float[_hidden];
        for (int b = 0; b < batch.Count; b++)
        {
            for (int t = 0; t < batch[b].Tokens.Length; t++)
            {
                Forward(output, b, t, u, h, p);
                int tag = batch[b].Tags[t];
                loss -= Math.Log(Math.Max(p[tag], 1e-30f));
                if (ArgMax(p) == tag) correct++;

                // dlogits = (softmax − onehot) / N; the output layer's weights and inputs [h; r1].
                var r1 = output.Vector(1, b, t);
                var g1 = outputGradient.AsSpan((b * output.Timesteps + t) * _dim, _dim);
                dh.Clear();
                for (int c = 0; c < _tags; c++)
                {
                    float d = (p[c] - (c == tag ? 1f : 0f)) / tokenCount;
                    var row = _parameters.AsSpan(_wOut + c * (_hidden + _dim), _hidden + _dim);
                    var grow = _gradients.AsSpan(_wOut + c * (_hidden + _dim), _hidden + _dim);
                    for (int j = 0; j < _hidden; j++)
                    {
                        grow[j] += d * h[j];
                        dh[j] += d * row[j];
                    }
                    for (int j = 0; j < _dim; j++)
                    {
                        grow[_hidden + j] += d * r1[j];
                        g1[j] += d * row[_hidden + j];
                    }
                    _gradients[_bOut + c] += d;
                }

                // Through tanh to the window's weights and to r0 at t−1, t, t+1.
                for (int k = 0; k < _hidden; k++)
                {
                    float d = dh[k] * (1 - h[k] * h[k]);
                    if (d == 0) continue;
                    var row = _parameters.AsSpan(_wIn + k * _window, _window);
                    var grow = _gradients.AsSpan(_wIn + k * _window, _window);
                    for (int j = 0; j < _window; j++) grow[j] += d * u[j];
                    for (int w = 0; w < 3; w++)
                    {
                        int at = t + w - 1;
                        if (at < 0 || at >= batch[b].Tokens.Length) continue;
                        var g0 = inputGradient.AsSpan((b * output.Timesteps + at) * _dim, _dim);
                        for (int j = 0; j < _dim; j++) g0[j] += d * row[w * _dim + j];
                    }
                    _gradients[_bIn + k] += d;
                }
            }
        }
        return (loss, correct);
    }

    /// <summary>The predicted tag of every token of one row.</summary>
    /// <param name="output">The representations.</param>
    /// <param name="row">The batch row.</param>
    /// <param name="tokens">Its tokens.</param>
    /// <returns>One tag per token.</returns>
    public int[] Predict(ElmoModuleOutput output, int row, int tokens)
    {
        Span<float> u = new float[_window], h = new float[_hidden], p = new float[_tags];
        var tags = new int[tokens];
        for (int t = 0; t < tokens; t++)
        {
            Forward(output, row, t, u, h, p, tokens);
            tags[t] = ArgMax(p);
        }
        return tags;
    }

    /// <summary>One Adam step (PyTorch's rule) on the tagger's weights with the accumulated gradients, which it then clears.</summary>
    /// <param name="learningRate">The step size.</param>
    public void Step(float learningRate)
    {
        _steps++;
        float c1 = 1 - MathF.Pow(Beta1, _steps), c2 = 1 - MathF.Pow(Beta2, _steps);
        for (int i = 0; i < _parameters.Length; i++)
        {
            float g = _gradients[i];
            _m[i] = Beta1 * _m[i] + (1 - Beta1) * g;
            _v[i] = Beta2 * _v[i] + (1 - Beta2) * g * g;
            _parameters[i] -= learningRate * (_m[i] / c1) / (MathF.Sqrt(_v[i] / c2) + Epsilon);
        }
        Array.Clear(_gradients);
    }

    /// <summary>Clears the accumulated gradients (after a pass that only measured the loss).</summary>
    public void ZeroGradients() => Array.Clear(_gradients);

    private void Forward(ElmoModuleOutput output, int b, int t, Span<float> u, Span<float> h, Span<float> p, int? length = null)
    {
        int n = length ?? output.Lengths[b];

        // u = [r0_{t−1}; r0_t; r0_{t+1}] (zeros beyond the sentence)  (3·dim)
        u.Clear();
        for (int w = 0; w < 3; w++)
        {
            int at = t + w - 1;
            if (at >= 0 && at < n) output.Vector(0, b, at).CopyTo(u.Slice(w * _dim, _dim));
        }

        // h = tanh(W_in u + b_in)  (hidden)
        for (int k = 0; k < _hidden; k++)
        {
            var row = _parameters.AsSpan(_wIn + k * _window, _window);
            float s = _parameters[_bIn + k];
            for (int j = 0; j < _window; j++) s += row[j] * u[j];
            h[k] = MathF.Tanh(s);
        }

        // p = softmax(W_out [h; r1_t] + b_out)  (tags)
        var r1 = output.Vector(1, b, t);
        float max = float.NegativeInfinity;
        for (int c = 0; c < _tags; c++)
        {
            var row = _parameters.AsSpan(_wOut + c * (_hidden + _dim), _hidden + _dim);
            float s = _parameters[_bOut + c];
            for (int j = 0; j < _hidden; j++) s += row[j] * h[j];
            for (int j = 0; j < _dim; j++) s += row[_hidden + j] * r1[j];
            p[c] = s;
            max = MathF.Max(max, s);
        }
        float sum = 0;
        for (int c = 0; c < _tags; c++) sum += p[c] = MathF.Exp(p[c] - max);
        for (int c = 0; c < _tags; c++) p[c] /= sum;
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
