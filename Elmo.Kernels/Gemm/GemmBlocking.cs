using System.Globalization;
using Elmo.Kernels.Calibration;

namespace Elmo.Kernels.Gemm;

/// <summary>
/// The cache blocking of <see cref="Gemm"/> for one panel width, derived from this machine's cache sizes
/// (<see cref="CacheSizes.Current"/>) instead of constants tuned on one CPU, BLIS style:
/// <list type="bullet">
/// <item><see cref="KBlock"/> (BLIS's KC): the panel block of B (KC × panel width) stays in L1 while every row tile
/// of the A block runs over it, so that block and one packed A micro-panel (KC × tile rows: 12 at AVX-512, else 6) must
/// fit L1d together: KC ≤ L1d ÷ (4 bytes × (panel width + tile rows)), rounded down to a multiple of
/// <see cref="Gemm.SumBlock"/> (so it never changes the accumulation order), one to eight of them. Zen 5 (48 KiB):
/// 256 at AVX-512, 512 at AVX2; a 32 KiB L1d: 128 and 256.</item>
/// <item><see cref="MBlock"/> (MC): the packed A block (MC × KC) takes about 60 % of L2, a multiple of twelve rows
/// (whole tiles on every path).</item>
/// <item><see cref="NBlock"/> (NC): the columns of B swept per A block, in panels: the KC × NC block of B takes at most
/// half of L3 (counted as at most 32 MiB: a socket-wide figure overstates what one core reaches), so that when M spans
/// several A blocks B is reread from L3 rather than memory (all of B without an L3);
/// <see cref="ColumnBlock"/> narrows it further so that the C block the K blocks revisit stays in L2.</item>
/// </list>
/// </summary>
/// <param name="PanelWidth">Columns per B panel of the path (two vectors).</param>
/// <param name="KBlock">Depth of a K block (KC).</param>
/// <param name="MBlock">Rows of an A block (MC).</param>
/// <param name="NBlock">Panels of B per column block (NC ÷ panel width).</param>
/// <param name="Caches">The cache sizes these came from.</param>
public sealed record GemmBlocking(int PanelWidth, int KBlock, int MBlock, int NBlock, CacheSizes Caches)
{
    /// <summary>Most L3 a core is assumed to reach (see <see cref="For"/>).</summary>
    private const long MaxL3 = 32L << 20;

    /// <summary>Largest K block, in accumulation blocks.</summary>
    private const int MaxSumBlocks = 8;

    private static readonly GemmBlocking[] ByWidth = [For(2, CacheSizes.Current), For(8, CacheSizes.Current), For(16, CacheSizes.Current), For(32, CacheSizes.Current)];

    /// <summary>The blocking for panels of <paramref name="panelWidth"/> columns (2, 8, 16 or 32) on this machine.</summary>
    public static GemmBlocking ForPanelWidth(int panelWidth) => panelWidth switch
    {
        2 => ByWidth[0],
        8 => ByWidth[1],
        16 => ByWidth[2],
        32 => ByWidth[3],
        _ => For(panelWidth, CacheSizes.Current),
    };

    /// <summary>The blocking for <paramref name="panelWidth"/> and the given caches (for tests and reports).</summary>
    public static GemmBlocking For(int panelWidth, CacheSizes caches)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(panelWidth, 1);
        ArgumentNullException.ThrowIfNull(caches);
        long rowBytes = (long)sizeof(float) * panelWidth;
        int tileRows = panelWidth == 32 ? Gemm.WideRows : Gemm.MicroRows;
        int sums = (int)Math.Clamp(caches.L1Data / ((long)sizeof(float) * (panelWidth + tileRows)) / Gemm.SumBlock, 1, MaxSumBlocks);
        int kc = sums * Gemm.SumBlock;
        int mc = (int)Math.Clamp(caches.L2 * 6 / 10 / ((long)sizeof(float) * kc) / 12 * 12, 24, 1200);
        // CPUID and sysfs may give the L3 of the whole socket (a 16-CCD EPYC reports 512 MiB, of which a core reaches its
        // own CCD's 32 MiB): count at most 32 MiB.
        long l3 = Math.Min(caches.L3, MaxL3);
        int nc = l3 > 0 ? (int)Math.Clamp(l3 / 2 / (rowBytes * kc), 4, int.MaxValue) : int.MaxValue;
        return new GemmBlocking(panelWidth, kc, mc, nc, caches);
    }

    /// <summary>
    /// Panels per column block for a product of <paramref name="rows"/> rows (per row block): at most <see cref="NBlock"/>,
    /// and few enough that the C block (<paramref name="rows"/> × NC floats), which every K block revisits, takes at most
    /// half of L2; a multiple of four, at least four.
    /// </summary>
    /// <param name="rows">Rows of the A block.</param>
    /// <returns>Panels per column block.</returns>
    public int ColumnBlock(int rows)
    {
        long forC = Caches.L2 / 2 / ((long)Math.Max(1, rows) * PanelWidth * sizeof(float));
        return (int)Math.Max(4, Math.Min(NBlock, forC) / 4 * 4);
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"blocking for {PanelWidth}-column panels: KC {KBlock}, MC {MBlock}, NC {(NBlock == int.MaxValue ? "all" : (NBlock * PanelWidth).ToString(CultureInfo.InvariantCulture))} from {Caches}");
}
