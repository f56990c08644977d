namespace Elmo.Server;

/// <summary>The answer of <c>GET /healthz</c> and <c>GET /readyz</c>: <c>{"status": "alive" | "ready" | "draining"}</c>.</summary>
/// <param name="Status">The state.</param>
public sealed record StatusBody(string Status);
