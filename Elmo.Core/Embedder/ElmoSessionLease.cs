namespace Elmo.Core;

/// <summary>
/// A session rented from an <see cref="ElmoSessionPool"/>: use <see cref="Session"/> on one thread at a time, then
/// dispose the lease to give it back (a second dispose does nothing). Do not keep the session after that.
/// </summary>
public sealed class ElmoSessionLease : IDisposable
{
    private readonly ElmoSessionPool _pool;
    private ElmoSessionPool.Pooled? _pooled;

    internal ElmoSessionLease(ElmoSessionPool pool, ElmoSessionPool.Pooled pooled)
    {
        _pool = pool;
        _pooled = pooled;
    }

    /// <summary>The rented session.</summary>
    /// <exception cref="ObjectDisposedException">The lease was returned.</exception>
    public ElmoSession Session => Pooled.Session;

    internal ElmoSessionPool.Pooled Pooled => _pooled ?? throw new ObjectDisposedException(nameof(ElmoSessionLease), "This session was returned to its pool.");

    /// <summary>Returns the session to its pool.</summary>
    public void Dispose()
    {
        var pooled = Interlocked.Exchange(ref _pooled, null);
        if (pooled is not null) _pool.Return(pooled);
    }
}
