using Elmo.Core;

namespace Elmo.Server;

/// <summary>The model a server answers with, and what <c>GET /v1/model</c> says about it.</summary>
/// <param name="Embedder">The embedder (warm or stateless) whose sessions run the batches.</param>
/// <param name="Description">How the model was named, e.g. <c>original (5.5B ...)</c> or the weight file.</param>
/// <param name="StateDescription">How states start, e.g. <c>warm (state after the built-in warm-up text)</c>.</param>
/// <param name="LoadTime">How long loading the model and its warm state took.</param>
/// <param name="Version">The tool's version.</param>
public sealed record ServingModel(ElmoEmbedder Embedder, string Description, string StateDescription, TimeSpan LoadTime, string Version);
