using System.Numerics.Tensors;

namespace Elmo.Kernels;

/// <summary>
/// The element-wise combine of a highway layer (bilm-tf form):
/// <c>g = σ(carry)</c>, <c>y = g·relu(transform) + (1 − g)·x</c>.
/// </summary>
public static class Highway
{
    /// <summary>
    /// Combines one row in place: <paramref name="x"/> becomes <c>x + σ(carry)·(relu(transform) − x)</c>.
    /// </summary>
    /// <param name="x">Layer input (F); overwritten with the layer output.</param>
    /// <param name="transformAndCarry">Pre-activations <c>[x·W_t + b_t | x·W_c + b_c]</c> (2·F); overwritten as scratch.</param>
    public static void Combine(Span<float> x, Span<float> transformAndCarry)
    {
        int f = x.Length;
        if (transformAndCarry.Length != 2 * f) throw new ArgumentException($"Pre-activations hold {transformAndCarry.Length} values, expected 2 × {f}.", nameof(transformAndCarry));
        Span<float> t = transformAndCarry[..f], g = transformAndCarry.Slice(f, f);
        TensorPrimitives.Max(t, 0f, t);              // relu(transform)
        TensorPrimitives.Subtract(t, x, t);          // relu(t) − x
        TensorPrimitives.Sigmoid(g, g);              // g = σ(carry)
        TensorPrimitives.MultiplyAdd(g, t, x, x);    // x + g·(relu(t) − x)
    }

    /// <summary>Scalar reference for <see cref="Combine"/> in double precision, in the textbook form.</summary>
    /// <param name="x">Layer input (F); overwritten with the layer output.</param>
    /// <param name="transformAndCarry">Pre-activations (2·F); not modified.</param>
    public static void CombineReference(Span<float> x, Span<float> transformAndCarry)
    {
        int f = x.Length;
        for (int k = 0; k < f; k++)
        {
            double g = 1.0 / (1.0 + Math.Exp(-transformAndCarry[f + k]));
            double t = Math.Max(0.0, transformAndCarry[k]);
            x[k] = (float)(g * t + (1 - g) * x[k]);
        }
    }
}
