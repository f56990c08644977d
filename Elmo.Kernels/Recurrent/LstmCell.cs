using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Elmo.Kernels.Simd;

namespace Elmo.Kernels.Recurrent;

/// <summary>
/// The element-wise part of one LSTM step for one row, fused over the four gate blocks, with the
/// gate pre-activations in TensorFlow's order <c>[i | j | f | o]</c> (input, new memory, forget,
/// output), each <c>cellDim</c> wide; the forget bias is expected to be folded into the
/// pre-activations already. One pass over memory: every gate is read once, the cell and the output written once.
/// </summary>
public static class LstmCell
{
    /// <summary>
    /// <c>c = clip(σ(f)·c + σ(i)·tanh(j), ±cellClip)</c>, <c>h = σ(o)·tanh(c)</c>.
    /// </summary>
    /// <param name="gates">Pre-activations <c>[i|j|f|o]</c> (4·C); not modified.</param>
    /// <param name="cell">Memory cell (C): previous value in, new value out.</param>
    /// <param name="hidden">Destination for the pre-projection output <c>σ(o)·tanh(c)</c> (C).</param>
    /// <param name="cellClip">Clip bound for the memory cell; 0 or less, or infinity, disables clipping.</param>
    public static void Step(ReadOnlySpan<float> gates, Span<float> cell, Span<float> hidden, float cellClip) =>
        Step(gates, cell, hidden, cellClip, null);

    /// <summary>
    /// The same with the bias added here, one rounding per gate: <paramref name="gates"/> holds <c>x·W_x + h·W_h</c>
    /// and the pre-activations are <c>gates + bias</c>. Adding the bias last keeps the matrix products' sums at their
    /// own scale (the forget gate's bias is near 1; see docs/accuracy.md).
    /// </summary>
    /// <param name="gates">Pre-activations without the bias <c>[i|j|f|o]</c> (4·C); not modified.</param>
    /// <param name="bias">Bias <c>[i|j|f|o]</c> (4·C), the forget bias folded in.</param>
    /// <param name="cell">Memory cell (C): previous value in, new value out.</param>
    /// <param name="hidden">Destination for the pre-projection output <c>σ(o)·tanh(c)</c> (C).</param>
    /// <param name="cellClip">Clip bound for the memory cell; 0 or less, or infinity, disables clipping.</param>
    public static void Step(ReadOnlySpan<float> gates, ReadOnlySpan<float> bias, Span<float> cell, Span<float> hidden, float cellClip) =>
        Step(gates, bias, cell, hidden, cellClip, null);

    /// <summary><see cref="Step(ReadOnlySpan{float}, Span{float}, Span{float}, float)"/> on a chosen path (tests).</summary>
    internal static void Step(ReadOnlySpan<float> gates, Span<float> cell, Span<float> hidden, float cellClip, KernelPath? path) =>
        Step(gates, default, cell, hidden, cellClip, path);

    /// <summary><see cref="Step(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float)"/> on a chosen path (tests); an empty bias adds nothing.</summary>
    internal static void Step(ReadOnlySpan<float> gates, ReadOnlySpan<float> bias, Span<float> cell, Span<float> hidden, float cellClip, KernelPath? path)
    {
        int c = cell.Length;
        if (gates.Length != 4 * c) throw new ArgumentException($"Gates hold {gates.Length} values, expected 4 × {c}.", nameof(gates));
        if (!bias.IsEmpty && bias.Length != 4 * c) throw new ArgumentException($"Bias holds {bias.Length} values, expected 4 × {c}.", nameof(bias));
        if (hidden.Length != c) throw new ArgumentException($"Hidden holds {hidden.Length} values, expected {c}.", nameof(hidden));
        var kernel = new StepKernel(gates, bias, cell, hidden, cellClip > 0 && float.IsFinite(cellClip) ? cellClip : float.PositiveInfinity);
        VectorKernel.Run(ref kernel, path);
    }

    /// <summary>Scalar reference for <see cref="Step(ReadOnlySpan{float}, Span{float}, Span{float}, float)"/> in double precision, same signature.</summary>
    /// <param name="gates">Pre-activations <c>[i|j|f|o]</c> (4·C); not modified.</param>
    /// <param name="cell">Memory cell (C): previous value in, new value out.</param>
    /// <param name="hidden">Destination for <c>σ(o)·tanh(c)</c> (C).</param>
    /// <param name="cellClip">Clip bound; 0 or less, or infinity, disables clipping.</param>
    public static void StepReference(ReadOnlySpan<float> gates, Span<float> cell, Span<float> hidden, float cellClip)
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

    /// <summary>Scalar reference for <see cref="Step(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float)"/> in double precision.</summary>
    /// <param name="gates">Pre-activations without the bias (4·C); not modified.</param>
    /// <param name="bias">Bias (4·C).</param>
    /// <param name="cell">Memory cell (C): previous value in, new value out.</param>
    /// <param name="hidden">Destination for <c>σ(o)·tanh(c)</c> (C).</param>
    /// <param name="cellClip">Clip bound; 0 or less, or infinity, disables clipping.</param>
    public static void StepReference(ReadOnlySpan<float> gates, ReadOnlySpan<float> bias, Span<float> cell, Span<float> hidden, float cellClip)
    {
        var summed = new float[gates.Length];
        for (int k = 0; k < summed.Length; k++) summed[k] = gates[k] + bias[k];
        StepReference(summed, cell, hidden, cellClip);
    }

    private static double Sigmoid(double x) => 1.0 / (1.0 + Math.Exp(-x));

    private readonly ref struct StepKernel(ReadOnlySpan<float> gates, ReadOnlySpan<float> bias, Span<float> cell, Span<float> hidden, float clip) : IVectorKernel
    {
        private readonly ReadOnlySpan<float> _gates = gates;
        private readonly ReadOnlySpan<float> _bias = bias;
        private readonly Span<float> _cell = cell;
        private readonly Span<float> _hidden = hidden;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run<TOps, TVec>()
            where TOps : struct, IVectorOps<TVec>
            where TVec : struct
        {
            int n = _cell.Length, k = 0;
            ref float g = ref MemoryMarshal.GetReference(_gates);
            ref float b = ref MemoryMarshal.GetReference(_bias);
            ref float c = ref MemoryMarshal.GetReference(_cell);
            ref float h = ref MemoryMarshal.GetReference(_hidden);
            bool hasBias = !_bias.IsEmpty;
            for (; k <= n - TOps.Width; k += TOps.Width) Body<TOps, TVec>(ref g, ref b, hasBias, ref c, ref h, n, k, clip);
            for (; k < n; k++) Body<ScalarOps, float>(ref g, ref b, hasBias, ref c, ref h, n, k, clip);
        }

        /// <summary>Gate pre-activation at <paramref name="at"/>: gates + bias (one rounding), or gates alone.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static TVec Pre<TOps, TVec>(ref float g, ref float b, bool hasBias, int at)
            where TOps : struct, IVectorOps<TVec>
            where TVec : struct
        {
            TVec z = TOps.Load(ref Unsafe.Add(ref g, at));
            return hasBias ? TOps.Add(z, TOps.Load(ref Unsafe.Add(ref b, at))) : z;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Body<TOps, TVec>(ref float g, ref float b, bool hasBias, ref float c, ref float h, int n, int k, float clip)
            where TOps : struct, IVectorOps<TVec>
            where TVec : struct
        {
            TVec i = VectorMath.Sigmoid<TOps, TVec>(Pre<TOps, TVec>(ref g, ref b, hasBias, k));
            TVec j = VectorMath.Tanh<TOps, TVec>(Pre<TOps, TVec>(ref g, ref b, hasBias, n + k));
            TVec f = VectorMath.Sigmoid<TOps, TVec>(Pre<TOps, TVec>(ref g, ref b, hasBias, 2 * n + k));
            TVec o = VectorMath.Sigmoid<TOps, TVec>(Pre<TOps, TVec>(ref g, ref b, hasBias, 3 * n + k));
            TVec m = TOps.MultiplyAdd(f, TOps.Load(ref Unsafe.Add(ref c, k)), TOps.Multiply(i, j));
            m = TOps.Min(TOps.Broadcast(clip), TOps.Max(TOps.Broadcast(-clip), m)); // ±∞ when clipping is off; NaN passes
            TOps.Store(m, ref Unsafe.Add(ref c, k));
            TOps.Store(TOps.Multiply(o, VectorMath.Tanh<TOps, TVec>(m)), ref Unsafe.Add(ref h, k));
        }
    }
}
