using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Elmo.Kernels.Simd;

/// <summary>Software prefetch into L1 where the instruction set has one (x86 SSE); a no-op elsewhere.</summary>
internal static class Prefetch
{
    /// <summary>Floats per 64-byte cache line.</summary>
    public const int LineFloats = 16;

    /// <summary>Asks for the cache line holding <paramref name="value"/>; never faults, even past the end of an array.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Line(ref float value)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref value));
        }
    }

    /// <summary>Asks for the cache line holding <c>*address</c>; never faults, whatever the address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Line(float* address)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(address);
        }
    }
}
