using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Elmo.Core;

/// <summary>
/// Copies bytes between two files inside the kernel where it can (Linux <c>copy_file_range</c>, what <c>cp</c> uses),
/// so a merge moves its values at <c>cp</c>'s speed; elsewhere, or when the kernel declines (files on different file
/// systems, an old kernel), the caller copies through a buffer.
/// </summary>
internal static partial class KernelCopy
{
    private static bool _unavailable = !OperatingSystem.IsLinux();

    /// <summary>Copies <paramref name="count"/> bytes; false (nothing or part copied: <paramref name="copied"/> says how much) when the kernel cannot.</summary>
    /// <param name="source">The file read.</param>
    /// <param name="sourceOffset">Where.</param>
    /// <param name="destination">The file written.</param>
    /// <param name="destinationOffset">Where.</param>
    /// <param name="count">Bytes.</param>
    /// <param name="copied">Bytes copied.</param>
    /// <returns>True when all were copied.</returns>
    public static bool TryCopy(SafeFileHandle source, long sourceOffset, SafeFileHandle destination, long destinationOffset, long count, out long copied)
    {
        copied = 0;
        if (Volatile.Read(ref _unavailable)) return false;
        int input = (int)source.DangerousGetHandle(), output = (int)destination.DangerousGetHandle();
        long inAt = sourceOffset, outAt = destinationOffset;
        while (copied < count)
        {
            nint n;
            try
            {
                n = CopyFileRange(input, ref inAt, output, ref outAt, (nuint)Math.Min(count - copied, 1L << 30), 0);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                Volatile.Write(ref _unavailable, true);
                return false;
            }
            if (n <= 0)
            {
                if (n < 0 && Marshal.GetLastPInvokeError() is 38 or 95 or 18) Volatile.Write(ref _unavailable, true); // ENOSYS, EOPNOTSUPP, EXDEV
                return false;
            }
            copied += n;
        }
        return true;
    }

    [LibraryImport("libc", EntryPoint = "copy_file_range", SetLastError = true)]
    private static partial nint CopyFileRange(int fdIn, ref long offIn, int fdOut, ref long offOut, nuint length, uint flags);
}
