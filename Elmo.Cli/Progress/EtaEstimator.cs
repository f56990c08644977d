namespace Elmo.Cli.Progress;

/// <summary>
/// The rate and time left of a run, measured from the end of its first batch: the first batch also carries the
/// start-up (the input read and counted, the kernels compiled), so a rate over the whole elapsed time would at first
/// promise a run several times longer than it is.
/// </summary>
internal sealed class EtaEstimator
{
    private long _startTokens = -1;
    private TimeSpan _startTime;

    /// <summary>Records one progress report and returns the rate since the first one, or null before there is one.</summary>
    /// <param name="tokens">Tokens done so far.</param>
    /// <param name="elapsed">Time since the run started.</param>
    /// <returns>Tokens per second since the first report, or null (first report, or no time passed).</returns>
    public double? Observe(long tokens, TimeSpan elapsed)
    {
        if (_startTokens < 0)
        {
            _startTokens = tokens;
            _startTime = elapsed;
            return null;
        }
        double seconds = (elapsed - _startTime).TotalSeconds;
        long done = tokens - _startTokens;
        return done > 0 && seconds > 0 ? done / seconds : null;
    }

    /// <summary>Seconds left at <paramref name="rate"/> tokens per second, or null without a rate.</summary>
    /// <param name="tokens">Tokens done.</param>
    /// <param name="totalTokens">Tokens in the whole run.</param>
    /// <param name="rate">Tokens per second, from <see cref="Observe"/>.</param>
    /// <returns>The estimate in seconds.</returns>
    public static double? SecondsLeft(long tokens, long totalTokens, double? rate) =>
        rate is double r && r > 0 ? Math.Max(0, totalTokens - tokens) / r : null;
}
