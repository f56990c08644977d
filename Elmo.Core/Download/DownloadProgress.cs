namespace Elmo.Core;

/// <summary>Progress of one download into the <see cref="ModelCache"/>.</summary>
/// <param name="Url">The file being downloaded.</param>
/// <param name="Bytes">Bytes on disk so far (including any resumed part).</param>
/// <param name="TotalBytes">The file's size when the server told it, else null.</param>
/// <param name="ResumedFrom">Bytes already on disk when this attempt started (0 for a fresh download).</param>
/// <param name="Elapsed">Time since the download started.</param>
public readonly record struct DownloadProgress(Uri Url, long Bytes, long? TotalBytes, long ResumedFrom, TimeSpan Elapsed);
