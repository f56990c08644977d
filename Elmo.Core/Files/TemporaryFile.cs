namespace Elmo.Core;

/// <summary>A temporary file tracked by <see cref="TemporaryFiles"/>: disposing it deletes the file (if still there) and stops tracking it.</summary>
public sealed class TemporaryFile : IDisposable
{
    internal TemporaryFile(string path) => Path = path;

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>Deletes the file if it is still there.</summary>
    public void Dispose() => TemporaryFiles.Release(Path);
}
