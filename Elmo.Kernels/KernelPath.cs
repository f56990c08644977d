using System.Runtime.Intrinsics;

namespace Elmo.Kernels;

/// <summary>The instruction-set path a kernel runs on.</summary>
public enum KernelPath
{
    /// <summary>Plain scalar code (still with fused multiply-add, so it rounds like the vector paths).</summary>
    Scalar = 1,

    /// <summary>128-bit vectors (SSE, AdvSimd).</summary>
    Vector128 = 128,

    /// <summary>256-bit vectors (AVX2).</summary>
    Vector256 = 256,

    /// <summary>512-bit vectors (AVX-512).</summary>
    Vector512 = 512,
}

/// <summary>Chooses the widest accelerated path of this machine once per process.</summary>
public static class KernelPaths
{
    /// <summary>
    /// The widest path the hardware (and the runtime's <c>DOTNET_Enable*</c> switches) allow.
    /// Forcing a narrower path for tests is done with <c>DOTNET_EnableAVX512F=0</c>,
    /// <c>DOTNET_EnableAVX2=0</c> or <c>DOTNET_EnableHWIntrinsic=0</c>.
    /// </summary>
    public static KernelPath Best { get; } =
        Vector512.IsHardwareAccelerated ? KernelPath.Vector512
        : Vector256.IsHardwareAccelerated ? KernelPath.Vector256
        : Vector128.IsHardwareAccelerated ? KernelPath.Vector128
        : KernelPath.Scalar;

    /// <summary>Every path this machine can run, narrowest first (always includes <see cref="KernelPath.Scalar"/>).</summary>
    public static IReadOnlyList<KernelPath> Supported { get; } = BuildSupported();

    /// <summary>Number of floats per vector on <paramref name="path"/>.</summary>
    public static int Width(KernelPath path) => path switch
    {
        KernelPath.Vector512 => 16,
        KernelPath.Vector256 => 8,
        KernelPath.Vector128 => 4,
        KernelPath.Scalar => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(path), path, "Unknown kernel path."),
    };

    /// <summary>Throws when <paramref name="path"/> cannot run on this machine.</summary>
    public static void EnsureSupported(KernelPath path)
    {
        if (!Supported.Contains(path))
        {
            throw new PlatformNotSupportedException($"Kernel path {path} is not accelerated on this machine (best: {Best}).");
        }
    }

    private static KernelPath[] BuildSupported()
    {
        var list = new List<KernelPath> { KernelPath.Scalar };
        if (Vector128.IsHardwareAccelerated) list.Add(KernelPath.Vector128);
        if (Vector256.IsHardwareAccelerated) list.Add(KernelPath.Vector256);
        if (Vector512.IsHardwareAccelerated) list.Add(KernelPath.Vector512);
        return list.ToArray();
    }
}
