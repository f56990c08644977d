using System.Text.Json;

namespace Elmo.Server;

/// <summary>The answer of <c>GET /v1/model</c> (written in snake_case).</summary>
/// <param name="Model">How the model was named (a published name, the weight file, or the demo model).</param>
/// <param name="Version">The tool's version.</param>
/// <param name="StateMode"><c>warm</c> or <c>stateless</c>.</param>
/// <param name="State">How each sentence's LSTM states start, in words.</param>
/// <param name="WarmStateFingerprint">The first 16 hex digits of the SHA-256 of the warm state's values (float32, little-endian; every layer and direction's h then c), or null when stateless: two servers with the same fingerprint start sentences from the same state.</param>
/// <param name="OutputLayers">L+1: the layers of an <c>all</c> answer.</param>
/// <param name="OutputDim">2P: values per vector.</param>
/// <param name="Parameters">The model's parameters.</param>
/// <param name="Architecture">The model's options, in the bilm-tf options JSON layout.</param>
/// <param name="Outputs">The output kinds a request may ask for.</param>
/// <param name="Limits">What one request may hold.</param>
/// <param name="Batching">How requests are batched.</param>
/// <param name="LoadSeconds">How long loading the model and its warm state took.</param>
public sealed record ModelInfo(
    string Model, string Version, string StateMode, string State, string? WarmStateFingerprint,
    int OutputLayers, int OutputDim, long Parameters, JsonElement Architecture, IReadOnlyList<string> Outputs,
    RequestLimits Limits, BatchingInfo Batching, double LoadSeconds);
