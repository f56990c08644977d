using Elmo.Core;

namespace Elmo.Server;

/// <summary>A checked <c>POST /v1/embed</c> request.</summary>
/// <param name="Sentences">The sentences, as tokens (from <c>sentences</c>, or <c>texts</c> split on white space).</param>
/// <param name="Output">What to return per sentence (<c>output</c>; <see cref="LayerChoice.All"/> when absent).</param>
/// <param name="Tokens">Tokens in all.</param>
public sealed record EmbedRequest(IReadOnlyList<IReadOnlyList<string>> Sentences, LayerChoice Output, long Tokens);
