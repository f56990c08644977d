using System.Diagnostics;
using System.Globalization;

namespace Elmo.Core;

/// <summary>
/// The temporary files of this process (outputs being written, spooled inputs), named
/// <c>PREFIX.&lt;pid&gt;.&lt;32 hex digits&gt;.tmp</c> so that any later process can tell whose they are. Each is
/// deleted when its work ends; <see cref="DeleteAll"/> deletes every one still there (a process ending on a signal),
/// and <see cref="RemoveStale"/> deletes those that a process killed outright (SIGKILL, power loss) left behind.
/// </summary>
public static class TemporaryFiles
{
    private static readonly HashSet<string> Live = new(StringComparer.Ordinal);
    private static bool _closed;

    /// <summary>
    /// Held while a temporary file is renamed into place or deleted: <see cref="DeleteAll"/> takes it too, so that an
    /// output is either complete under its final name or gone, never half-renamed while the process ends.
    /// </summary>
    internal static object Gate { get; } = new();

    /// <summary>A new temporary path <c>DIRECTORY/PREFIX.&lt;pid&gt;.&lt;guid&gt;.tmp</c>, tracked until the handle is disposed.</summary>
    /// <param name="directory">Where the file goes.</param>
    /// <param name="prefix">The start of its name (e.g. <c>.out.hdf5</c>).</param>
    /// <returns>The tracked path; disposing the result deletes the file if it is still there.</returns>
    /// <exception cref="OperationCanceledException">The process is ending (<see cref="DeleteAll"/> was called).</exception>
    public static TemporaryFile Create(string directory, string prefix)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(prefix);
        string path = Path.Combine(directory, $"{prefix}.{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}.{Guid.NewGuid():N}.tmp");
        lock (Gate)
        {
            if (_closed) throw new OperationCanceledException("The process is ending.");
            lock (Live) Live.Add(path);
        }
        return new TemporaryFile(path);
    }

    /// <summary>
    /// Deletes every temporary file of this process and refuses new ones: for a process that is about to end on a
    /// signal. Returns with <see cref="Gate"/> released; no rename into place happens after this.
    /// </summary>
    /// <returns>How many files were deleted.</returns>
    public static int DeleteAll()
    {
        lock (Gate)
        {
            _closed = true;
            string[] paths;
            lock (Live) paths = [.. Live];
            int deleted = 0;
            foreach (string path in paths)
            {
                if (TryDelete(path)) deleted++;
            }
            return deleted;
        }
    }

    /// <summary>
    /// Deletes the temporary files named <c>PREFIX.&lt;pid&gt;.&lt;guid&gt;.tmp</c> in <paramref name="directory"/> whose
    /// process is gone: no process has that id, or the one that has it started after the file was last written (the id
    /// was reused, as in a container whose every run is process 1). Files of live processes, and this process's own,
    /// are kept.
    /// </summary>
    /// <param name="directory">The directory to look in.</param>
    /// <param name="prefix">The start of the names (as given to <see cref="Create"/>).</param>
    /// <returns>How many files were deleted.</returns>
    public static int RemoveStale(string directory, string prefix)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(prefix);
        int removed = 0;
        IEnumerable<string> candidates;
        try
        {
            candidates = System.IO.Directory.EnumerateFiles(directory, "*.tmp").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
        foreach (string path in candidates)
        {
            string name = Path.GetFileName(path);
            if (!name.StartsWith(prefix + ".", StringComparison.Ordinal)) continue;
            string[] rest = name[(prefix.Length + 1)..].Split('.');
            if (rest is not [var pidText, var guid, "tmp"] || guid.Length != 32 || !guid.All(char.IsAsciiHexDigit)
                || !int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }
            lock (Live)
            {
                if (Live.Contains(path)) continue;
            }
            DateTime written;
            try
            {
                written = File.GetLastWriteTimeUtc(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            if (IsRunningSince(pid, written)) continue;
            if (TryDelete(path)) removed++;
        }
        return removed;
    }

    /// <summary>
    /// Renames temporary files over their final paths, all under <see cref="Gate"/>, unless the process is ending
    /// (then nothing is renamed). Each destination is checked once more just before: it must still be a regular file
    /// or nothing.
    /// </summary>
    /// <exception cref="OperationCanceledException">The process is ending.</exception>
    internal static void MoveIntoPlace(IReadOnlyList<(TemporaryFile File, string Destination)> moves)
    {
        lock (Gate)
        {
            if (_closed) throw new OperationCanceledException("The process is ending.");
            foreach (var (file, destination) in moves)
            {
                var node = FileNode.Of(destination);
                if (node.Kind is not (FileKind.Regular or FileKind.Missing))
                {
                    throw new IOException($"'{destination}' became {node.Description} while the output was being written");
                }
            }
            foreach (var (file, destination) in moves)
            {
                File.Move(file.Path, destination, overwrite: true);
                lock (Live) Live.Remove(file.Path);
            }
        }
    }

    /// <summary>Deletes <paramref name="path"/> if it is still there and stops tracking it.</summary>
    /// <summary>
    /// Renames a working file that is not a temporary file (a resumable run's, kept when the process is interrupted)
    /// over <paramref name="destination"/>, under the same lock and checks as <see cref="MoveIntoPlace"/>.
    /// </summary>
    /// <param name="path">The finished working file.</param>
    /// <param name="destination">The output.</param>
    internal static void MoveKeptIntoPlace(string path, string destination)
    {
        lock (Gate)
        {
            if (_closed) throw new OperationCanceledException("The process is ending.");
            var node = FileNode.Of(destination);
            if (node.Kind is not (FileKind.Regular or FileKind.Missing))
            {
                throw new IOException($"'{destination}' became {node.Description} while the output was being written");
            }
            File.Move(path, destination, overwrite: true);
        }
    }

    internal static void Release(string path)
    {
        lock (Gate)
        {
            TryDelete(path);
            lock (Live) Live.Remove(path);
        }
    }

    /// <summary>Whether a process <paramref name="pid"/> runs that was already running when the file was written.</summary>
    private static bool IsRunningSince(int pid, DateTime writtenUtc)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            if (process.HasExited) return false;
            // A process that started after the file was last written cannot have written it. The margin covers the
            // coarse clocks behind both times.
            return process.StartTime.ToUniversalTime() <= writtenUtc.AddSeconds(1);
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException or UnauthorizedAccessException)
        {
            return true; // cannot tell: keep the file
        }
    }

    private static bool TryDelete(string path)
    {
        try
        {
            if (!File.Exists(path)) return false;
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // best effort: the name says what it is, and the next run removes it
        }
    }
}
