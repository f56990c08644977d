namespace Elmo.Core;

/// <summary>
/// How a run of many batches uses the cores: <see cref="Workers"/> batches side by side (inter-batch), each on its own
/// session with <see cref="ThreadsPerWorker"/> threads (intra-batch: the two LSTM directions on two threads, the
/// GEMMs of each split between the rest).
/// </summary>
/// <remarks>
/// Inside one batch, the two LSTM directions are independent and run side by side on two cores at nearly twice the
/// speed of one; beyond two, each direction splits its small per-step GEMMs between threads, which scales poorly (the
/// column split of 64×4096×512 between two threads gave 1.5x, two independent products 1.9x; a step of 64 rows is
/// ~1 ms of work, so every split adds a hand-off per step). Independent batches share nothing but the read-only
/// weights. So with more than two cores and more than one batch to run, batches run side by side, two threads each:
/// on 2 cores nothing changes (one batch, two threads); on 16 cores, eight batches of two threads. One batch (a
/// single call, batch-1 latency) keeps every core for itself. Results are the same bits whatever the plan: every
/// batch is computed as it would be alone.
/// </remarks>
/// <param name="Workers">Batches run at once.</param>
/// <param name="ThreadsPerWorker">Threads each batch's forward pass uses.</param>
public readonly record struct BatchParallelism(int Workers, int ThreadsPerWorker)
{
    /// <summary>Threads one batch gets when batches run side by side: one per LSTM direction.</summary>
    public const int ThreadsPerBatch = 2;

    /// <summary>Chooses the plan for <paramref name="threads"/> threads and <paramref name="batches"/> batches available at once.</summary>
    /// <param name="threads">Threads the run may use (≥ 1).</param>
    /// <param name="batches">Batches that could run at once (those of one window; ≥ 1).</param>
    /// <param name="forced">Batches side by side, when the caller says (null: chosen here); threads are shared evenly.</param>
    /// <returns>The plan.</returns>
    public static BatchParallelism Choose(int threads, int batches, int? forced = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        batches = Math.Max(1, batches);
        if (forced is int f)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(f, 1, nameof(forced));
            int w = Math.Min(f, batches);
            return new BatchParallelism(w, Math.Max(1, threads / w));
        }
        if (threads <= ThreadsPerBatch || batches == 1) return new BatchParallelism(1, threads);
        int workers = Math.Min(batches, threads / ThreadsPerBatch);
        return new BatchParallelism(workers, threads / workers);
    }
}
