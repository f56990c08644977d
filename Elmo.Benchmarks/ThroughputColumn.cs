using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Elmo.Benchmarks;

/// <summary>A benchmark that knows how much work one invocation does, given its parameters.</summary>
public interface IThroughput
{
    /// <summary>Work per invocation of the benchmark method, with the parameters already set.</summary>
    double WorkPerOperation { get; }
}

/// <summary>A kernel benchmark: <see cref="IThroughput.WorkPerOperation"/> counts floating-point operations.</summary>
public interface IFlopsBenchmark : IThroughput;

/// <summary>An end-to-end benchmark: <see cref="IThroughput.WorkPerOperation"/> counts tokens.</summary>
public interface ITokensBenchmark : IThroughput;

/// <summary>
/// A column that divides each benchmark's <see cref="IThroughput.WorkPerOperation"/> by its mean time: GFLOP/s for the
/// kernels, tokens/s for the end-to-end runs. The parameters are applied to a fresh instance to ask for the work.
/// </summary>
public sealed class ThroughputColumn(string name, double scale, Type kind, string legend) : IColumn
{
    /// <summary>GFLOP/s of the kernel benchmarks.</summary>
    public static ThroughputColumn Gflops { get; } = new("GFLOP/s", 1e9, typeof(IFlopsBenchmark), "Floating-point operations per second (2 per multiply-add; elementwise kernels count the operations their class names), 1e9 per unit");

    /// <summary>Tokens per second of the end-to-end benchmarks.</summary>
    public static ThroughputColumn TokensPerSecond { get; } = new("tokens/s", 1, typeof(ITokensBenchmark), "Tokens embedded per second (sentence-boundary positions not counted)");

    public string Id => nameof(ThroughputColumn) + name;

    public string ColumnName => name;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => legend;

    public bool IsAvailable(Summary summary) => summary.BenchmarksCases.Any(c => kind.IsAssignableFrom(c.Descriptor.Type));

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        var type = benchmarkCase.Descriptor.Type;
        if (stats is null || !kind.IsAssignableFrom(type)) return "-";
        var instance = (IThroughput)Activator.CreateInstance(type)!;
        foreach (var parameter in benchmarkCase.Parameters.Items)
        {
            var member = type.GetMember(parameter.Name, BindingFlags.Public | BindingFlags.Instance).FirstOrDefault();
            if (member is PropertyInfo property) property.SetValue(instance, parameter.Value);
            else if (member is FieldInfo field) field.SetValue(instance, parameter.Value);
        }
        double seconds = stats.Mean / 1e9; // BenchmarkDotNet reports nanoseconds
        return (instance.WorkPerOperation / seconds / scale).ToString("F1", CultureInfo.InvariantCulture);
    }

    public override string ToString() => ColumnName;
}

/// <summary>
/// An end-to-end benchmark that can say how many floating-point operations one invocation executes (measured with
/// <see cref="Elmo.Kernels.Gemm.GemmCounters"/> over one invocation run in the host process), so that its speed can
/// be stated as a fraction of this machine's compute ceiling.
/// </summary>
public interface ICeilingBenchmark : ITokensBenchmark
{
    /// <summary>GEMM floating-point operations one invocation executes, with the parameters already set (may run the workload once).</summary>
    double FlopsPerOperation { get; }
}

/// <summary>
/// The fraction of the compute ceiling an <see cref="ICeilingBenchmark"/> reaches: its executed FLOP per invocation ÷
/// its mean time ÷ the fp32 FMA peak of all cores, which this column measures once in the host process
/// (<see cref="Elmo.Kernels.Calibration.MachineLimits"/>), in the same run as the benchmarks.
/// </summary>
public sealed class CeilingColumn : IColumn
{
    private static readonly Lazy<double> Peak = new(() => Elmo.Kernels.Calibration.MachineLimits.FmaPeakGflops(Environment.ProcessorCount));
    private readonly Dictionary<string, double> _flops = [];

    /// <summary>The column.</summary>
    public static CeilingColumn Instance { get; } = new();

    public string Id => nameof(CeilingColumn);

    public string ColumnName => "of ceiling";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 1;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Executed GEMM FLOP/s ÷ the fp32 FMA peak of all cores measured in this run (12 independent FMA chains on the widest path)";

    public bool IsAvailable(Summary summary) => summary.BenchmarksCases.Any(c => typeof(ICeilingBenchmark).IsAssignableFrom(c.Descriptor.Type));

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        var type = benchmarkCase.Descriptor.Type;
        if (stats is null || !typeof(ICeilingBenchmark).IsAssignableFrom(type)) return "-";
        string key = benchmarkCase.DisplayInfo;
        if (!_flops.TryGetValue(key, out double flops))
        {
            var instance = (ICeilingBenchmark)Activator.CreateInstance(type)!;
            foreach (var parameter in benchmarkCase.Parameters.Items)
            {
                var member = type.GetMember(parameter.Name, BindingFlags.Public | BindingFlags.Instance).FirstOrDefault();
                if (member is PropertyInfo property) property.SetValue(instance, parameter.Value);
                else if (member is FieldInfo field) field.SetValue(instance, parameter.Value);
            }
            _flops[key] = flops = instance.FlopsPerOperation;
        }
        double seconds = stats.Mean / 1e9;
        return string.Create(CultureInfo.InvariantCulture, $"{flops / seconds / 1e9 / Peak.Value:P1} of {Peak.Value:F0} GFLOP/s");
    }

    public override string ToString() => ColumnName;
}
