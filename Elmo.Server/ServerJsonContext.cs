using System.Text.Json.Serialization;

namespace Elmo.Server;

/// <summary>The server's JSON types, serialized by source-generated code (no reflection; Native AOT and trimming safe).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ProblemBody))]
[JsonSerializable(typeof(ModelInfo))]
[JsonSerializable(typeof(StatusBody))]
internal sealed partial class ServerJsonContext : JsonSerializerContext;
