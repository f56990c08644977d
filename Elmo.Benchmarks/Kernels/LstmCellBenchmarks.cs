using BenchmarkDotNet.Attributes;
using Elmo.Kernels.Recurrent;

namespace Elmo.Benchmarks.Kernels;

/// <summary>
/// The fused LSTM cell step for a batch of rows at the original model's cell size (4096): five transcendental
/// functions and about 20 further operations per element; the work column counts 25 operations per element.
/// </summary>
public class LstmCellBenchmarks : IFlopsBenchmark
{
    private const int Cell = 4096;
    private float[] _gates = [];
    private float[] _cell = [];
    private float[] _hidden = [];

    [Params(1, 64)]
    public int Rows { get; set; } = 64;

    public double WorkPerOperation => 25.0 * Rows * Cell;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _gates = Enumerable.Range(0, Rows * 4 * Cell).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
        _cell = Enumerable.Range(0, Rows * Cell).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        _hidden = new float[Rows * Cell];
    }

    [Benchmark(Baseline = true, Description = "Step (SIMD)")]
    public void Step()
    {
        for (int r = 0; r < Rows; r++)
        {
            LstmCell.Step(_gates.AsSpan(r * 4 * Cell, 4 * Cell), _cell.AsSpan(r * Cell, Cell), _hidden.AsSpan(r * Cell, Cell), 3f);
        }
    }

    [Benchmark(Description = "StepReference (scalar, double)")]
    public void StepReference()
    {
        for (int r = 0; r < Rows; r++)
        {
            LstmCell.StepReference(_gates.AsSpan(r * 4 * Cell, 4 * Cell), _cell.AsSpan(r * Cell, Cell), _hidden.AsSpan(r * Cell, Cell), 3f);
        }
    }
}
