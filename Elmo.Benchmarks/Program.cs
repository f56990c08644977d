using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Elmo.Benchmarks;

// dotnet run -c Release --project Elmo.Benchmarks -- --filter '*'            (everything; see docs/performance.md)
// dotnet run -c Release --project Elmo.Benchmarks -- --filter '*Gemm*' --inProcess
var config = DefaultConfig.Instance
    .AddColumn(ThroughputColumn.Gflops, ThroughputColumn.TokensPerSecond, CeilingColumn.Instance)
    .WithOptions(ConfigOptions.JoinSummary);
BenchmarkSwitcher.FromAssembly(typeof(ThroughputColumn).Assembly).Run(args, config);
