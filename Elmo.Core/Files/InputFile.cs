namespace Elmo.Core;

/// <summary>A file a command reads, named for messages: an output must never be one of them (<see cref="AtomicFile.Check"/>).</summary>
/// <param name="Path">The path as the user gave it.</param>
/// <param name="Role">What it is, for messages: <c>INPUT</c>, <c>--weights</c>, <c>the vocabulary</c>, ...</param>
public sealed record InputFile(string Path, string Role);
