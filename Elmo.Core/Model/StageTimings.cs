using System.Diagnostics;

namespace Elmo.Core;

/// <summary>
/// Wall time spent in each stage of the biLM forward pass, summed over the batches a session ran while this object
/// was attached to it (<see cref="ElmoSession.Timings"/>). For benchmarks (<c>elmo bench</c>); attaching it costs two
/// timestamps per stage and batch.
/// </summary>
public sealed class StageTimings
{
    private long _charCnn, _highway, _lstm, _other;

    /// <summary>Character embedding, convolutions, max-pooling and activation, over the unique tokens of each batch.</summary>
    public TimeSpan CharCnn => Stopwatch.GetElapsedTime(0, _charCnn);

    /// <summary>Highway layers and the projection to the LSTM input size.</summary>
    public TimeSpan HighwayAndProjection => Stopwatch.GetElapsedTime(0, _highway);

    /// <summary>The bidirectional LSTM layers (both directions, all time steps).</summary>
    public TimeSpan Lstm => Stopwatch.GetElapsedTime(0, _lstm);

    /// <summary>Everything else inside the forward pass: character ids, finding unique tokens, laying out the outputs.</summary>
    public TimeSpan Other => Stopwatch.GetElapsedTime(0, _other);

    /// <summary>Sets every stage back to zero.</summary>
    public void Reset() => _charCnn = _highway = _lstm = _other = 0;

    internal void AddCharCnn(long since) => _charCnn += Stopwatch.GetTimestamp() - since;

    internal void AddHighway(long since) => _highway += Stopwatch.GetTimestamp() - since;

    internal void AddLstm(long since) => _lstm += Stopwatch.GetTimestamp() - since;

    internal void AddOther(long since) => _other += Stopwatch.GetTimestamp() - since;
}
