using System.Collections.Concurrent;

namespace Elmo.Core;

/// <summary>
/// A thread-safe pool of <see cref="ElmoSession"/>s over one shared <see cref="ElmoModel"/>, all in one state mode:
/// a caller rents a session for one or more batches and returns it (disposing the lease), so that concurrent callers
/// (threads of an <see cref="ElmoEmbedder"/>, requests of a server) each run on their own session while sessions and
/// their scratch are reused instead of made per call.
/// </summary>
/// <remarks>
/// Sessions are created on demand, up to <see cref="MaxSessions"/> at a time when it is set (a rent then waits for a
/// return); at most <see cref="MaxIdle"/> returned sessions are kept for reuse. In <see cref="StateMode.Stateful"/>
/// mode the pool holds exactly one session (its carried state is the one stream every caller continues), and callers
/// take turns on it. Warm and stateless sessions are interchangeable: any session gives a sentence the same bits.
/// </remarks>
public sealed class ElmoSessionPool
{
    private readonly ConcurrentBag<Pooled> _idle = [];
    private readonly SemaphoreSlim? _slots;
    private readonly LstmState? _warmState;
    private int _idleCount;
    private int _created;

    /// <summary>Creates an empty pool (no session is made until the first rent).</summary>
    /// <param name="model">The shared model.</param>
    /// <param name="mode">The sessions' state mode (default <see cref="ElmoModel.DefaultStateMode"/>, warm).</param>
    /// <param name="warmState">The warm state (warm mode); null for <see cref="ElmoModel.WarmState"/>.</param>
    /// <param name="threadsPerSession">Maximum threads one session's call uses (default: all processors).</param>
    /// <param name="maxSessions">Most sessions rented at once (a rent waits beyond it); null for no limit. Always 1 in stateful mode.</param>
    /// <exception cref="ArgumentOutOfRangeException">A count below 1.</exception>
    public ElmoSessionPool(ElmoModel model, StateMode mode = ElmoModel.DefaultStateMode, LstmState? warmState = null, int? threadsPerSession = null, int? maxSessions = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (threadsPerSession is < 1) throw new ArgumentOutOfRangeException(nameof(threadsPerSession), threadsPerSession, "At least one thread.");
        if (maxSessions is < 1) throw new ArgumentOutOfRangeException(nameof(maxSessions), maxSessions, "At least one session.");
        if (warmState is not null && mode != StateMode.Warm) throw new ArgumentException($"A warm state is for StateMode.Warm, not {mode}.", nameof(warmState));
        Model = model;
        Mode = mode;
        _warmState = warmState;
        ThreadsPerSession = threadsPerSession ?? Environment.ProcessorCount;
        MaxSessions = mode == StateMode.Stateful ? 1 : maxSessions;
        MaxIdle = mode == StateMode.Stateful ? 1 : Math.Max(Environment.ProcessorCount, MaxSessions ?? 0);
        if (MaxSessions is int max) _slots = new SemaphoreSlim(max, max);
    }

    /// <summary>The shared model.</summary>
    public ElmoModel Model { get; }

    /// <summary>The sessions' state mode.</summary>
    public StateMode Mode { get; }

    /// <summary>Maximum threads one session's call uses.</summary>
    public int ThreadsPerSession { get; }

    /// <summary>Most sessions rented at once, or null for no limit.</summary>
    public int? MaxSessions { get; }

    /// <summary>Most returned sessions kept for reuse, the rest being dropped (default: the processor count, or <see cref="MaxSessions"/> when larger; always 1 in stateful mode).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative value.</exception>
    public int MaxIdle
    {
        get;
        init => field = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "MaxIdle cannot be negative.");
    }

    /// <summary>The memory cap of each session's forward pass (<see cref="ElmoSession.MaxBatchBytes"/>).</summary>
    public long? MaxBatchBytes { get; init; } = ElmoSession.DefaultMaxBatchBytes;

    /// <summary>Sessions made so far.</summary>
    public int SessionsCreated => Volatile.Read(ref _created);

    /// <summary>Sessions waiting in the pool.</summary>
    public int IdleSessions => Volatile.Read(ref _idleCount);

    /// <summary>The warm state the sessions start from (warm mode), resolving <see cref="ElmoModel.WarmState"/> when none was given; null in other modes.</summary>
    public LstmState? WarmState => Mode == StateMode.Warm ? _warmState ?? Model.WarmState : null;

    /// <summary>Rents a session, waiting while <see cref="MaxSessions"/> are out. Dispose the lease to return it.</summary>
    /// <param name="cancellationToken">Stops the wait.</param>
    /// <returns>The lease.</returns>
    public ElmoSessionLease Rent(CancellationToken cancellationToken = default)
    {
        _slots?.Wait(cancellationToken);
        return Take();
    }

    /// <summary>Rents a session, waiting asynchronously while <see cref="MaxSessions"/> are out. Dispose the lease to return it.</summary>
    /// <param name="cancellationToken">Stops the wait.</param>
    /// <returns>The lease.</returns>
    public async ValueTask<ElmoSessionLease> RentAsync(CancellationToken cancellationToken = default)
    {
        if (_slots is not null) await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        return Take();
    }

    private ElmoSessionLease Take()
    {
        try
        {
            if (_idle.TryTake(out var pooled))
            {
                Interlocked.Decrement(ref _idleCount);
                return new ElmoSessionLease(this, pooled);
            }
            var session = Model.CreateSession(Mode, _warmState, ThreadsPerSession);
            session.MaxBatchBytes = MaxBatchBytes;
            Interlocked.Increment(ref _created);
            return new ElmoSessionLease(this, new Pooled(session));
        }
        catch
        {
            _slots?.Release();
            throw;
        }
    }

    internal void Return(Pooled pooled)
    {
        int limit = Mode == StateMode.Stateful ? 1 : MaxIdle;
        if (Interlocked.Increment(ref _idleCount) <= limit)
        {
            _idle.Add(pooled);
        }
        else
        {
            Interlocked.Decrement(ref _idleCount);
        }
        _slots?.Release();
    }

    /// <summary>A session and the output array it reuses from batch to batch (see <see cref="ElmoSession.Run(IReadOnlyList{IReadOnlyList{string}}, float[], int, int)"/>).</summary>
    internal sealed class Pooled(ElmoSession session)
    {
        public ElmoSession Session { get; } = session;

        public float[]? OutputBuffer { get; set; }

        public float[]? MixBuffer { get; set; }
    }
}
