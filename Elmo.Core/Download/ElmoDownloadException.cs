namespace Elmo.Core;

/// <summary>
/// Thrown when a model file cannot be downloaded into the cache: an HTTP error, a connection that keeps
/// breaking, a size or checksum that does not match, or a cache directory that cannot be written.
/// No file that looks complete is left behind; an interrupted download keeps its <c>.partial</c> file so the
/// next attempt resumes it.
/// </summary>
public sealed class ElmoDownloadException : ElmoException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong, naming the URL.</param>
    /// <param name="innerException">The low-level error that revealed it, if any.</param>
    public ElmoDownloadException(string message, Exception? innerException = null) : base(message, innerException)
    {
    }

    /// <summary>The URL being downloaded.</summary>
    public Uri? Url { get; init; }
}
