using Elmo.Core;

namespace Elmo.Server;

/// <summary>Everything <c>elmo serve</c> can be told: where to listen, request limits, batching, timeouts, the API key.</summary>
public sealed record ServerOptions
{
    /// <summary>The default address: loopback only (binding beyond it is the user's explicit choice).</summary>
    public const string DefaultUrl = "http://127.0.0.1:8080";

    /// <summary>Addresses to listen on (<c>http://HOST:PORT</c>; port 0 picks a free one).</summary>
    public IReadOnlyList<string> Urls { get; init; } = [DefaultUrl];

    /// <summary>What one request may hold.</summary>
    public RequestLimits Limits { get; init; } = new();

    /// <summary>Batch budgets, wait and queue bounds.</summary>
    public BatcherOptions Batching { get; init; } = new();

    /// <summary>
    /// How long a client has to send its request headers, and then its whole body (default 30 s); a slower client
    /// gets 408 and its connection closed.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>After a stop signal, how long requests in flight have to finish before connections are closed (default 30 s).</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Idle keep-alive connections are closed after this long (default 120 s).</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Open connections at most (default 1,024); further connections wait in the listen backlog.</summary>
    public int MaxConnections { get; init; } = 1024;

    /// <summary>The key requests must carry (<c>Authorization: Bearer KEY</c> or <c>X-API-Key: KEY</c>); null for none.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Request log lines as JSON objects (one per line) instead of text.</summary>
    public bool JsonLogs { get; init; }

    /// <summary>Checks every value.</summary>
    /// <exception cref="ArgumentException">No URL, an empty API key, or a value out of range.</exception>
    public void Validate()
    {
        if (Urls.Count == 0) throw new ArgumentException("At least one URL to listen on.", nameof(Urls));
        Limits.Validate();
        Batching.Validate();
        if (RequestTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RequestTimeout), RequestTimeout, "The request timeout must be positive.");
        if (DrainTimeout < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(DrainTimeout), DrainTimeout, "The drain timeout cannot be negative.");
        if (KeepAliveTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(KeepAliveTimeout), KeepAliveTimeout, "The keep-alive timeout must be positive.");
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnections, 1, nameof(MaxConnections));
        if (ApiKey is not null && string.IsNullOrWhiteSpace(ApiKey)) throw new ArgumentException("The API key is empty.", nameof(ApiKey));
    }
}
