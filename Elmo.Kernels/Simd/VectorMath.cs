using System.Runtime.CompilerServices;

namespace Elmo.Kernels.Simd;

/// <summary>
/// Single-precision exp, sigmoid and tanh written once over <see cref="IVectorOps{TVec}"/> (Cephes <c>expf</c> and
/// <c>tanhf</c>: Cody–Waite range reduction, degree-5 polynomial, within 2 ulp of the exact results). Every path,
/// the scalar tail included, evaluates the same operations in the same order, so they agree to the bit.
/// </summary>
internal static class VectorMath
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693359375f;
    private const float Ln2Low = -2.12194440e-4f;

    // exp(x) for x in [ExpMin, ExpMax] keeps 2^n a normal number; beyond, the result saturates (0…tiny, or ~1.6e38).
    private const float ExpMax = 88.0f;
    private const float ExpMin = -87.3f;

    /// <summary>Below this |x|, tanh uses its odd polynomial; above, 1 − 2/(exp(2|x|) + 1).</summary>
    private const float TanhSmall = 0.625f;

    /// <summary><c>e^x</c>, clamped to <c>[−87.3, 88]</c> first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Exp<TOps, TVec>(TVec x)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        x = TOps.Min(TOps.Max(x, TOps.Broadcast(ExpMin)), TOps.Broadcast(ExpMax));
        TVec n = TOps.Round(TOps.Multiply(x, TOps.Broadcast(Log2E)));
        TVec r = TOps.MultiplyAdd(n, TOps.Broadcast(-Ln2High), x);
        r = TOps.MultiplyAdd(n, TOps.Broadcast(-Ln2Low), r);
        TVec p = TOps.Broadcast(1.9875691500e-4f);
        p = TOps.MultiplyAdd(p, r, TOps.Broadcast(1.3981999507e-3f));
        p = TOps.MultiplyAdd(p, r, TOps.Broadcast(8.3334519073e-3f));
        p = TOps.MultiplyAdd(p, r, TOps.Broadcast(4.1665795894e-2f));
        p = TOps.MultiplyAdd(p, r, TOps.Broadcast(1.6666665459e-1f));
        p = TOps.MultiplyAdd(p, r, TOps.Broadcast(5.0000001201e-1f));
        TVec y = TOps.Add(TOps.MultiplyAdd(p, TOps.Multiply(r, r), r), TOps.Broadcast(1f));
        return TOps.Multiply(y, TOps.Pow2(n));
    }

    /// <summary><c>1 / (1 + e^−x)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Sigmoid<TOps, TVec>(TVec x)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        TVec one = TOps.Broadcast(1f);
        return TOps.Divide(one, TOps.Add(one, Exp<TOps, TVec>(TOps.Subtract(TOps.Zero, x))));
    }

    /// <summary>Hyperbolic tangent: an odd polynomial below |x| = 0.625 (full relative accuracy near 0), else through exp.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Tanh<TOps, TVec>(TVec x)
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct
    {
        TVec one = TOps.Broadcast(1f);
        TVec ax = TOps.Abs(x);

        // Large: 1 − 2 / (e^{2|x|} + 1), with the sign of x.
        TVec large = TOps.Subtract(one, TOps.Divide(TOps.Broadcast(2f), TOps.Add(Exp<TOps, TVec>(TOps.Add(ax, ax)), one)));
        large = TOps.SelectLess(x, TOps.Zero, TOps.Subtract(TOps.Zero, large), large);

        // Small: x + x·s·P(s), s = x².
        TVec s = TOps.Multiply(x, x);
        TVec p = TOps.Broadcast(-5.70498872745e-3f);
        p = TOps.MultiplyAdd(p, s, TOps.Broadcast(2.06390887954e-2f));
        p = TOps.MultiplyAdd(p, s, TOps.Broadcast(-5.37397155531e-2f));
        p = TOps.MultiplyAdd(p, s, TOps.Broadcast(1.33314422036e-1f));
        p = TOps.MultiplyAdd(p, s, TOps.Broadcast(-3.33332819422e-1f));
        TVec small = TOps.MultiplyAdd(TOps.Multiply(p, s), x, x);

        return TOps.SelectLess(ax, TOps.Broadcast(TanhSmall), small, large);
    }
}
