namespace Elmo.Kernels.Simd;

/// <summary>
/// The handful of SIMD operations the kernels need, over one vector type
/// (<see cref="System.Runtime.Intrinsics.Vector512{T}"/>, 256, 128, or a plain <see cref="float"/>
/// for the scalar path). Kernels are written once, generic over an implementation of this
/// interface; the JIT specialises them per struct, so every call inlines to one or two instructions.
/// Every operation rounds exactly as its scalar counterpart does, so all paths give the same bits.
/// </summary>
/// <typeparam name="TVec">The vector type.</typeparam>
internal interface IVectorOps<TVec> where TVec : struct
{
    /// <summary>Number of floats in one <typeparamref name="TVec"/>.</summary>
    static abstract int Width { get; }

    /// <summary>All lanes zero.</summary>
    static abstract TVec Zero { get; }

    /// <summary>Loads <see cref="Width"/> floats starting at <paramref name="source"/>.</summary>
    static abstract TVec Load(ref float source);

    /// <summary>Stores all lanes at <paramref name="destination"/>.</summary>
    static abstract void Store(TVec value, ref float destination);

    /// <summary>All lanes equal to <paramref name="value"/>.</summary>
    static abstract TVec Broadcast(float value);

    /// <summary><c>a * b + c</c> with a single rounding.</summary>
    static abstract TVec MultiplyAdd(TVec a, TVec b, TVec c);

    /// <summary>Lane-wise sum.</summary>
    static abstract TVec Add(TVec a, TVec b);

    /// <summary>Lane-wise difference.</summary>
    static abstract TVec Subtract(TVec a, TVec b);

    /// <summary>Lane-wise product.</summary>
    static abstract TVec Multiply(TVec a, TVec b);

    /// <summary>Lane-wise quotient.</summary>
    static abstract TVec Divide(TVec a, TVec b);

    /// <summary>Lane-wise maximum; when a lane of either operand is NaN the result is that of the hardware (x86: <paramref name="b"/>).</summary>
    static abstract TVec Max(TVec a, TVec b);

    /// <summary>Lane-wise minimum; NaN lanes as for <see cref="Max"/>.</summary>
    static abstract TVec Min(TVec a, TVec b);

    /// <summary>Lane-wise absolute value.</summary>
    static abstract TVec Abs(TVec a);

    /// <summary>Rounds every lane to the nearest integer, ties to even.</summary>
    static abstract TVec Round(TVec a);

    /// <summary><c>2^n</c> for lanes holding integers <c>n</c> in −126…127.</summary>
    static abstract TVec Pow2(TVec n);

    /// <summary>Per lane: <paramref name="whenTrue"/> where <c>a &lt; b</c>, else <paramref name="whenFalse"/>.</summary>
    static abstract TVec SelectLess(TVec a, TVec b, TVec whenTrue, TVec whenFalse);
}
