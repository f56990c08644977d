using Microsoft.Extensions.Hosting;

namespace Elmo.Server;

/// <summary>
/// A host lifetime that handles no signals: the host's console lifetime would register its own SIGINT/SIGTERM
/// handlers, a second cancellation path beside the <c>elmo</c> process's one. The owner of the server stops it
/// (<see cref="ElmoServer.StopAsync"/>) when that one path fires.
/// </summary>
internal sealed class SignalFreeLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
