using System.Text.Json.Serialization;

namespace Elmo.Server;

/// <summary>An RFC 9457 problem body, with the request field at fault as the extension member <c>field</c>.</summary>
/// <param name="Type">A URI naming the kind of problem (<c>about:blank</c>: the status says it).</param>
/// <param name="Title">A short summary of the kind of problem.</param>
/// <param name="Status">The HTTP status.</param>
/// <param name="Detail">What is wrong with this request.</param>
/// <param name="Field">The request field at fault, if any.</param>
/// <param name="Instance">The request path.</param>
public sealed record ProblemBody(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("status")] int Status,
    [property: JsonPropertyName("detail")] string Detail,
    [property: JsonPropertyName("field"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Field,
    [property: JsonPropertyName("instance")] string Instance);
