using System.Globalization;
using System.Runtime.Intrinsics.X86;

namespace Elmo.Kernels.Calibration;

/// <summary>
/// The data-cache sizes of one core of this machine, which the GEMM's blocking is derived from
/// (<see cref="Gemm.GemmBlocking"/>): read from <c>/sys/devices/system/cpu/cpu0/cache/index*/</c> on Linux, else from
/// the processor itself (x86 CPUID: leaf 0x8000001D on AMD, leaf 4 on Intel; many VMs hide the sysfs files but pass
/// these through), else the fallback <see cref="Fallback"/> (32 KiB L1d, 512 KiB L2, no L3), the smallest of the
/// x86-64 cores of the last decade, so that blocks chosen from it fit everywhere.
/// </summary>
/// <param name="L1Data">Level-1 data cache of one core, bytes.</param>
/// <param name="L2">Level-2 cache of one core, bytes.</param>
/// <param name="L3">Level-3 cache (shared), bytes; 0 when there is none or it is unknown.</param>
/// <param name="Source">Where the sizes came from: "sysfs", "cpuid" or "fallback".</param>
public sealed record CacheSizes(long L1Data, long L2, long L3, string Source)
{
    /// <summary>The sizes assumed when neither sysfs nor CPUID tells.</summary>
    public static CacheSizes Fallback { get; } = new(32 << 10, 512 << 10, 0, "fallback");

    /// <summary>This machine's sizes, read once per process.</summary>
    public static CacheSizes Current { get; } = Detect();

    /// <inheritdoc/>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"L1d {L1Data >> 10} KiB, L2 {L2 >> 10} KiB, L3 {(L3 > 0 ? $"{L3 >> 20} MiB" : "none/unknown")} ({Source})");

    private static CacheSizes Detect()
    {
        try
        {
            return FromSysfs() ?? FromCpuid() ?? Fallback;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or PlatformNotSupportedException)
        {
            return Fallback;
        }
    }

    private static CacheSizes? FromSysfs()
    {
        const string root = "/sys/devices/system/cpu/cpu0/cache";
        if (!Directory.Exists(root)) return null;
        long l1 = 0, l2 = 0, l3 = 0;
        foreach (string dir in Directory.EnumerateDirectories(root, "index*"))
        {
            string type = ReadText(Path.Combine(dir, "type")), level = ReadText(Path.Combine(dir, "level")), size = ReadText(Path.Combine(dir, "size"));
            if (type.Length == 0 || level.Length == 0 || size.Length == 0 || type == "Instruction") continue;
            long bytes = ParseSize(size);
            switch (level)
            {
                case "1": l1 = bytes; break;
                case "2": l2 = bytes; break;
                case "3": l3 = bytes; break;
            }
        }
        return l1 > 0 && l2 > 0 ? new CacheSizes(l1, l2, l3, "sysfs") : null;
    }

    private static string ReadText(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : "";

    /// <summary>"48K", "1024K", "32M" or a plain byte count.</summary>
    internal static long ParseSize(string text)
    {
        long unit = 1;
        if (text.EndsWith('K')) unit = 1 << 10;
        else if (text.EndsWith('M')) unit = 1 << 20;
        else if (text.EndsWith('G')) unit = 1 << 30;
        return long.Parse(unit == 1 ? text : text[..^1], NumberStyles.None, CultureInfo.InvariantCulture) * unit;
    }

    private static CacheSizes? FromCpuid()
    {
        if (!X86Base.IsSupported) return null;
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        bool amd = (ebx, edx, ecx) is (0x68747541, 0x69746E65, 0x444D4163) /* AuthenticAMD */ or (0x6F677948, 0x6E65476E, 0x656E6975) /* HygonGenuine */;
        int leaf;
        if (amd)
        {
            uint extended = (uint)X86Base.CpuId(unchecked((int)0x80000000), 0).Eax;
            // Leaf 0x8000001D exists when CPUID 0x80000001 reports topology extensions (ECX bit 22); VMs often hide it
            // but keep the older leaves 0x80000005 (L1d in KiB, ECX[31:24]) and 0x80000006 (L2 in KiB, ECX[31:16];
            // L3 in 512 KiB units, EDX[31:18]).
            if (extended < 0x8000001D || (X86Base.CpuId(unchecked((int)0x80000001), 0).Ecx & (1 << 22)) == 0)
            {
                if (extended < 0x80000006) return null;
                long legacyL1 = (long)((uint)X86Base.CpuId(unchecked((int)0x80000005), 0).Ecx >> 24) << 10;
                var (_, _, l2ecx, l3edx) = X86Base.CpuId(unchecked((int)0x80000006), 0);
                return Plausible(legacyL1, (long)((uint)l2ecx >> 16) << 10, (long)((uint)l3edx >> 18) * (512 << 10));
            }
            leaf = unchecked((int)0x8000001D);
        }
        else
        {
            if (X86Base.CpuId(0, 0).Eax < 4) return null;
            leaf = 4;
        }

        long l1 = 0, l2 = 0, l3 = 0;
        for (int sub = 0; sub < 16; sub++)
        {
            var (a, b, c, _) = X86Base.CpuId(leaf, sub);
            int type = a & 0x1F;
            if (type == 0) break;           // no more caches
            if (type == 2) continue;        // instruction cache
            int level = (a >> 5) & 0x7;
            long ways = ((uint)b >> 22) + 1L, partitions = (((uint)b >> 12) & 0x3FF) + 1L, line = (b & 0xFFF) + 1L, sets = (uint)c + 1L;
            long bytes = ways * partitions * line * sets;
            switch (level)
            {
                case 1: l1 = bytes; break;
                case 2: l2 = bytes; break;
                case 3: l3 = bytes; break;
            }
        }
        return Plausible(l1, l2, l3);
    }

    /// <summary>The sizes when they are plausible (a VM may report nonsense), else null; an implausible L3 becomes "none".</summary>
    private static CacheSizes? Plausible(long l1, long l2, long l3)
    {
        if (l1 is < (8 << 10) or > (1 << 20) || l2 is < (64 << 10) or > (64 << 20)) return null;
        if (l3 is < 0 or > (1L << 32)) l3 = 0;
        return new CacheSizes(l1, l2, l3, "cpuid");
    }
}
