namespace Elmo.Cli;

/// <summary>A usage error found after parsing (conflicting flags, a missing model): exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
