namespace Elmo.Kernels.Gemm;

/// <summary>
/// Process-wide running totals of the work <see cref="Gemm.Multiply"/> has done, for benchmarks that state speed as a
/// fraction of the machine's limits: the floating-point operations executed (2 per multiply-add) and the bytes of
/// packed weights the products read (each product reads its whole B once). Totals only grow; take the difference
/// of two readings around the work of interest (as with <see cref="GC.GetTotalAllocatedBytes"/>). One atomic add per
/// product, never per element.
/// </summary>
public static class GemmCounters
{
    private static long _flops;
    private static long _weightBytes;

    /// <summary>Floating-point operations executed by every product so far (2·M·N·K each).</summary>
    public static long Flops => Interlocked.Read(ref _flops);

    /// <summary>Bytes of packed B every product so far has read (<see cref="PackedMatrix.SizeInBytes"/> each).</summary>
    public static long WeightBytes => Interlocked.Read(ref _weightBytes);

    internal static void Add(long flops, long weightBytes)
    {
        Interlocked.Add(ref _flops, flops);
        Interlocked.Add(ref _weightBytes, weightBytes);
    }
}
