using Microsoft.Extensions.Logging;

namespace Elmo.Server;

/// <summary>The server's log messages (source-generated: structured, no boxing, no reflection). Request bodies are never logged.</summary>
internal static partial class ServerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Method} {Path} {Status} {ElapsedMs} ms, {Sentences} sentences, {Tokens} tokens, {Client}")]
    public static partial void Request(ILogger logger, string method, string path, int status, double elapsedMs, int sentences, long tokens, string client);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "{Method} {Path} {Status} {ElapsedMs} ms: {Detail}, {Client}")]
    public static partial void Refused(ILogger logger, string method, string path, int status, double elapsedMs, string detail, string client);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    public static partial void Failed(ILogger logger, string method, string path, Exception error);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "stopping: finishing {Requests} queued requests ({Running} batches running), at most {DrainSeconds} s")]
    public static partial void Draining(ILogger logger, int requests, int running, double drainSeconds);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "stopped: {Completed} requests answered, {Rejected} refused for a full queue, {Cancelled} cancelled by their clients")]
    public static partial void Stopped(ILogger logger, long completed, long rejected, long cancelled);
}
