using System.Numerics.Tensors;

namespace Elmo.Kernels;

/// <summary>Symmetric clipping to <c>[−bound, bound]</c>.</summary>
public static class Clip
{
    /// <summary>Clips every value of <paramref name="values"/> in place to <c>[−bound, bound]</c>.</summary>
    /// <param name="values">Values to clip.</param>
    /// <param name="bound">Positive bound.</param>
    public static void Apply(Span<float> values, float bound)
    {
        TensorPrimitives.Min(values, bound, values);
        TensorPrimitives.Max(values, -bound, values);
    }

    /// <summary>Scalar reference for <see cref="Apply"/>.</summary>
    /// <param name="values">Values to clip.</param>
    /// <param name="bound">Positive bound.</param>
    public static void ApplyReference(Span<float> values, float bound)
    {
        for (int i = 0; i < values.Length; i++) values[i] = Math.Clamp(values[i], -bound, bound);
    }
}
