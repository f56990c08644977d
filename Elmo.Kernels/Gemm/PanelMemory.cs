using System.Runtime.InteropServices;

namespace Elmo.Kernels.Gemm;

/// <summary>
/// Allocates the arrays that hold packed panels. On Linux the 2 MiB-aligned interior of a large array is marked for
/// transparent huge pages (<c>madvise(MADV_HUGEPAGE)</c>) before anything is written to it: packing a model's weights
/// first-touches hundreds of megabytes, and with 4 KiB pages that is one page fault per 4 KiB (half of the loading
/// time of the original model on a virtual machine); with 2 MiB pages it is one per 2 MiB, and the GEMMs that stream
/// the panels miss the TLB less. The values, and so every result, are the same either way.
/// </summary>
/// <remarks>
/// Only advice: where transparent huge pages are off (<c>never</c>), already <c>always</c>, not Linux, or libc cannot
/// be called (a static musl binary), the array is an ordinary one and nothing else changes. The call goes to the C
/// library the process already runs on; no native library is shipped.
/// </remarks>
internal static partial class PanelMemory
{
    /// <summary>Arrays at least this large (two huge pages) are advised.</summary>
    private const long AdviseBytes = 4L << 20;

    private const long HugePageBytes = 2L << 20;

    /// <summary><c>MADV_HUGEPAGE</c> (Linux, every architecture).</summary>
    private const int MadvHugePage = 14;

    private static volatile bool s_noLibc;

    /// <summary>A zeroed array of <paramref name="length"/> floats, advised for huge pages when it is large.</summary>
    /// <param name="length">Number of floats.</param>
    /// <returns>The array.</returns>
    public static float[] Allocate(long length)
    {
        var array = new float[length];
        if (length * sizeof(float) >= AdviseBytes && OperatingSystem.IsLinux() && !s_noLibc) AdviseHugePages(array);
        return array;
    }

    private static unsafe void AdviseHugePages(float[] array)
    {
        // A large array lives in the large object heap, which the GC does not move unless asked to compact it; if it
        // ever moved, only the advice would be lost.
        fixed (float* first = array)
        {
            long start = ((long)first + HugePageBytes - 1) & ~(HugePageBytes - 1);
            long end = (long)(first + array.LongLength) & ~(HugePageBytes - 1);
            if (end <= start) return;
            try
            {
                // A refusal (EINVAL where THP is compiled out) leaves ordinary pages: nothing to report.
                _ = MAdvise((nint)start, (nuint)(end - start), MadvHugePage);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                s_noLibc = true;
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int MAdvise(nint address, nuint length, int advice);
}
