namespace Elmo.Kernels.Simd;

/// <summary>
/// The handful of SIMD operations the register-blocked kernels need, over one vector type
/// (<see cref="System.Runtime.Intrinsics.Vector512{T}"/>, 256, 128, or a plain <see cref="float"/>
/// for the scalar path). Kernels are written once, generic over an implementation of this
/// interface; the JIT specialises them per struct, so every call inlines to one instruction.
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

    /// <summary>Lane-wise maximum.</summary>
    static abstract TVec Max(TVec a, TVec b);

    /// <summary>Lane-wise sum.</summary>
    static abstract TVec Add(TVec a, TVec b);
}
