namespace Elmo.Core;

/// <summary>
/// Writes a file through a temporary file in the same directory and renames it into place at the end,
/// so that a failed or interrupted write never leaves a partial file and never clobbers an existing one.
/// </summary>
public static class AtomicFile
{
    /// <summary>Calls <paramref name="write"/> with a temporary path, then moves it to <paramref name="path"/>.</summary>
    /// <param name="path">Final path.</param>
    /// <param name="write">Writes the content to the path it is given.</param>
    /// <exception cref="ElmoOutputException">The file cannot be written (no space, no permission, the path is a directory, ...).</exception>
    public static void Write(string path, Action<string> write)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw new ElmoOutputException($"Cannot write '{path}': it is a directory.") { FilePath = path };
        }
        string dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir))
        {
            throw new ElmoOutputException($"Cannot write '{path}': directory '{dir}' does not exist.") { FilePath = path };
        }
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            write(tmp);
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ElmoOutputException($"Cannot write '{path}': {e.Message}", e) { FilePath = path };
        }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException is IOException or UnauthorizedAccessException)
        {
            // PureHDF writes datasets through reflection, so a full disk reaches us wrapped.
            throw new ElmoOutputException($"Cannot write '{path}': {e.InnerException.Message}", e.InnerException) { FilePath = path };
        }
        finally
        {
            try
            {
                if (File.Exists(tmp)) File.Delete(tmp);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort: the temporary file has a name no reader confuses with the output.
            }
        }
    }
}
