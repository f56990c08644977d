using System.Globalization;
using System.Text;

namespace Elmo.Server;

/// <summary>A Prometheus histogram: counts per upper bound, their sum and count. Thread-safe.</summary>
internal sealed class Histogram(string name, string help, double[] bounds)
{
    private readonly long[] _counts = new long[bounds.Length + 1];
    private double _sum;
    private long _count;

    /// <summary>Counts one observation.</summary>
    public void Observe(double value)
    {
        int bucket = 0;
        while (bucket < bounds.Length && value > bounds[bucket]) bucket++;
        lock (_counts)
        {
            _counts[bucket]++;
            _sum += value;
            _count++;
        }
    }

    /// <summary>Appends the histogram in the Prometheus text format (cumulative buckets).</summary>
    public void Render(StringBuilder text)
    {
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} histogram\n");
        lock (_counts)
        {
            long cumulative = 0;
            for (int i = 0; i < bounds.Length; i++)
            {
                cumulative += _counts[i];
                text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"{bounds[i].ToString("R", CultureInfo.InvariantCulture)}\"}} {cumulative}\n");
            }
            text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"+Inf\"}} {_count}\n");
            text.Append(CultureInfo.InvariantCulture, $"{name}_sum {_sum.ToString("R", CultureInfo.InvariantCulture)}\n{name}_count {_count}\n");
        }
    }
}
