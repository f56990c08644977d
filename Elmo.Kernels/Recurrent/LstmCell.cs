using System.Numerics.Tensors;

namespace Elmo.Kernels.Recurrent;

/// <summary>
/// The element-wise part of one LSTM step for one row, fused over the four gate blocks, with the
/// gate pre-activations in TensorFlow's order <c>[i | j | f | o]</c> (input, new memory, forget,
/// output), each <c>cellDim</c> wide; the forget bias is expected to be folded into the
/// pre-activations already.
/// </summary>
public static class LstmCell
{
    /// <summary>
    /// <c>c = clip(σ(i)·tanh(j) + σ(f)·c, ±cellClip)</c>, <c>h = σ(o)·tanh(c)</c>.
    /// </summary>
    /// <param name="gates">Pre-activations <c>[i|j|f|o]</c> (4·C); overwritten as scratch.</param>
    /// <param name="cell">Memory cell (C): previous value in, new value out.</param>
    /// <param name="hidden">Destination for the pre-projection output <c>σ(o)·tanh(c)</c> (C).</param>
    /// <param name="cellClip">Clip bound for the memory cell; 0 or less, or infinity, disables clipping.</param>
    public static void Step(Span<float> gates, Span<float> cell, Span<float> hidden, float cellClip)
    {
        int c = cell.Length;
        if (gates.Length != 4 * c) throw new ArgumentException($"Gates hold {gates.Length} values, expected 4 × {c}.", nameof(gates));
        if (hidden.Length != c) throw new ArgumentException($"Hidden holds {hidden.Length} values, expected {c}.", nameof(hidden));

        Span<float> i = gates[..c], j = gates.Slice(c, c), f = gates.Slice(2 * c, c), o = gates.Slice(3 * c, c);
        TensorPrimitives.Sigmoid(i, i);
        TensorPrimitives.Tanh(j, j);
        TensorPrimitives.Multiply(i, j, i);                 // i ← σ(i)·tanh(j)
        TensorPrimitives.Sigmoid(f, f);
        TensorPrimitives.MultiplyAdd(f, cell, i, cell);     // c ← σ(f)·c + σ(i)·tanh(j)
        if (cellClip > 0 && float.IsFinite(cellClip))
        {
            Clip.Apply(cell, cellClip);
        }
        TensorPrimitives.Sigmoid(o, o);
        TensorPrimitives.Tanh(cell, hidden);
        TensorPrimitives.Multiply(o, hidden, hidden);       // h ← σ(o)·tanh(c)
    }

    /// <summary>Scalar reference for <see cref="Step"/> in double precision, same signature.</summary>
    /// <param name="gates">Pre-activations <c>[i|j|f|o]</c> (4·C); not modified.</param>
    /// <param name="cell">Memory cell (C): previous value in, new value out.</param>
    /// <param name="hidden">Destination for <c>σ(o)·tanh(c)</c> (C).</param>
    /// <param name="cellClip">Clip bound; 0 or less, or infinity, disables clipping.</param>
    public static void StepReference(Span<float> gates, Span<float> cell, Span<float> hidden, float cellClip)
    {
        int c = cell.Length;
        for (int k = 0; k < c; k++)
        {
            double ig = Sigmoid(gates[k]), jg = Math.Tanh(gates[c + k]), fg = Sigmoid(gates[2 * c + k]), og = Sigmoid(gates[3 * c + k]);
            double m = ig * jg + fg * cell[k];
            if (cellClip > 0 && float.IsFinite(cellClip)) m = Math.Clamp(m, -cellClip, cellClip);
            cell[k] = (float)m;
            hidden[k] = (float)(og * Math.Tanh((float)m));
        }
    }

    private static double Sigmoid(double x) => 1.0 / (1.0 + Math.Exp(-x));
}
