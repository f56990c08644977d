namespace Elmo.Core;

/// <summary>
/// The one output-path policy, used for every file the engine writes (embeddings, warm states, random models,
/// token-embedding dumps, scalar-mix files, the download cache's records):
/// <list type="bullet">
/// <item>An output that is a regular file, or nothing yet, is written to a temporary file beside it
/// (<c>.NAME.&lt;pid&gt;.&lt;guid&gt;.tmp</c>) and renamed over it only when complete, so a failed or interrupted
/// write never leaves a partial file and keeps an existing one. A symbolic link is followed: the file it points to is
/// replaced, the link is kept.</item>
/// <item>An output that is a pipe (a FIFO, <c>/dev/stdout</c> on a pipe, <c>&gt;(cmd)</c>), the null device, or
/// <see cref="StandardOutput"/> (<c>-</c>) is streamed into without any rename, once the whole file is written to a
/// temporary file in <see cref="Path.GetTempPath"/> (HDF5 needs a seekable file): a pipe's reader gets complete files
/// only, and the device node is never replaced. Standard output on a terminal is refused.</item>
/// <item>Anything else (a directory, a socket, a block or other character device) is refused, and so is an output
/// that is the same file as one of the command's inputs (by device and inode, so links are seen through).</item>
/// <item>Temporary files that a killed process left for the same output are removed by the next write
/// (<see cref="TemporaryFiles.RemoveStale"/>), and a process ending on a signal deletes its own
/// (<see cref="TemporaryFiles.DeleteAll"/>).</item>
/// </list>
/// </summary>
public static class AtomicFile
{
    /// <summary>The output path that means the process's standard output.</summary>
    public const string StandardOutput = "-";

    /// <summary>The prefix of the temporary files that hold a streamed output, in <see cref="Path.GetTempPath"/>.</summary>
    internal const string StreamPrefix = "elmo-output";

    /// <summary>
    /// Checks, without writing anything, that <paramref name="path"/> can be written under this policy and is none of
    /// <paramref name="inputs"/>: for commands to fail before any work (a download, hours of embedding) is spent.
    /// </summary>
    /// <param name="path">The output path.</param>
    /// <param name="inputs">The files the command reads (null or missing ones are passed over).</param>
    /// <exception cref="ElmoOutputException">The path is empty, a directory, a socket or a device other than the null
    /// device, in a directory that does not exist, standard output on a terminal, or one of the inputs.</exception>
    public static void Check(string path, IEnumerable<InputFile?>? inputs = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        Plan(path, inputs);
    }

    /// <summary>Calls <paramref name="write"/> with a temporary path, then moves (or streams) it to <paramref name="path"/>.</summary>
    /// <param name="path">Final path (<c>-</c> for standard output).</param>
    /// <param name="write">Writes the content to the path it is given.</param>
    /// <exception cref="ElmoOutputException">The path cannot be an output (see <see cref="Check"/>), or the file cannot be
    /// written (no space, no permission, ...).</exception>
    public static void Write(string path, Action<string> write) => Write(path, write, null);

    /// <summary>
    /// Calls <paramref name="write"/> with a temporary path, then moves (or streams) it to <paramref name="path"/>,
    /// refusing first when <paramref name="path"/> is one of <paramref name="inputs"/>.
    /// </summary>
    /// <param name="path">Final path (<c>-</c> for standard output).</param>
    /// <param name="write">Writes the content to the path it is given.</param>
    /// <param name="inputs">The files the caller reads.</param>
    /// <exception cref="ElmoOutputException">The path cannot be an output (see <see cref="Check"/>), or the file cannot be written.</exception>
    public static void Write(string path, Action<string> write, IEnumerable<InputFile?>? inputs)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(write);
        var target = Plan(path, inputs);
        if (target.Streams)
        {
            Stream(target, write);
        }
        else
        {
            Replace([(target, write)]);
        }
    }

    /// <summary>
    /// Writes several files that belong together (a model's weights and options): every one to its temporary file
    /// first, then all renamed into place, so a failure leaves every existing file as it was.
    /// </summary>
    /// <param name="files">Each final path (a regular file or nothing; no pipe) with its writer.</param>
    /// <exception cref="ElmoOutputException">A path cannot be an output, or a file cannot be written.</exception>
    public static void WriteAll(IReadOnlyList<(string Path, Action<string> Write)> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var targets = new List<(Target, Action<string>)>();
        foreach (var (path, write) in files)
        {
            var target = Plan(path, null);
            if (target.Streams) throw Error(path, $"it is {target.Node.Description}; files written together must be regular files");
            targets.Add((target, write));
        }
        Replace(targets);
    }

    private static void Replace(IReadOnlyList<(Target Target, Action<string> Write)> targets)
    {
        var temporaries = new List<TemporaryFile>();
        string current = targets[0].Target.Display;
        try
        {
            foreach (var (target, write) in targets)
            {
                current = target.Display;
                string directory = Path.GetDirectoryName(target.Destination)!;
                string prefix = "." + Path.GetFileName(target.Destination);
                TemporaryFiles.RemoveStale(directory, prefix);
                var tmp = TemporaryFiles.Create(directory, prefix);
                temporaries.Add(tmp);
                write(tmp.Path);
            }
            current = targets[0].Target.Display;
            TemporaryFiles.MoveIntoPlace(temporaries.Select((t, i) => (t, targets[i].Target.Destination)).ToList());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Error(current, e.Message, e);
        }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException is IOException or UnauthorizedAccessException)
        {
            // PureHDF writes datasets through reflection, so a full disk reaches us wrapped.
            throw Error(current, e.InnerException.Message, e.InnerException);
        }
        finally
        {
            foreach (var tmp in temporaries) tmp.Dispose();
        }
    }

    private static void Stream(Target target, Action<string> write)
    {
        string directory = Path.GetTempPath();
        TemporaryFiles.RemoveStale(directory, StreamPrefix);
        using var tmp = TemporaryFiles.Create(directory, StreamPrefix);
        try
        {
            write(tmp.Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Error(target.Display, $"{e.Message} (a streamed output is first written in full to '{directory}')", e);
        }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException is IOException or UnauthorizedAccessException)
        {
            throw Error(target.Display, $"{e.InnerException.Message} (a streamed output is first written in full to '{directory}')", e.InnerException);
        }
        try
        {
            using var source = new FileStream(tmp.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            using var destination = target.Display == StandardOutput
                ? Console.OpenStandardOutput()
                : new FileStream(target.Destination, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1 << 16);
            source.CopyTo(destination, 1 << 16);
            destination.Flush();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Error(target.Display, e.Message, e);
        }
    }

    /// <summary>Where and how <paramref name="path"/> is written, or why it cannot be.</summary>
    private static Target Plan(string path, IEnumerable<InputFile?>? inputs)
    {
        if (string.IsNullOrWhiteSpace(path)) throw Error(path, "the output path is empty");
        FileNode node;
        string destination;
        bool streams;
        if (path == StandardOutput)
        {
            node = FileNode.OfStandardOutput();
            if (!Console.IsOutputRedirected) throw Error(path, "standard output is a terminal; redirect it to a file or a pipe, or name an output file");
            destination = path;
            streams = true;
        }
        else
        {
            node = FileNode.Of(path);
            destination = node.FullPath;
            switch (node.Kind)
            {
                case FileKind.Regular:
                    streams = false;
                    break;
                case FileKind.Missing:
                    string? directory = Path.GetDirectoryName(destination);
                    if (directory is not null && !System.IO.Directory.Exists(directory))
                    {
                        throw Error(path, $"directory '{directory}' does not exist");
                    }
                    streams = false;
                    break;
                case FileKind.Fifo:
                    streams = true;
                    break;
                case FileKind.CharacterDevice when node.IsNullDevice:
                    streams = true;
                    break;
                case FileKind.Unknown:
                    throw Error(path, "it cannot be examined (no permission to look, or a loop of symbolic links)");
                default:
                    throw Error(path, $"it is {node.Description}; outputs are regular files (replaced only when complete), or a pipe or the null device to stream into");
            }
        }

        foreach (var input in inputs ?? [])
        {
            if (input is null || input.Path.Length == 0 || input.Path == StandardOutput) continue;
            if (node.IsSameFileAs(FileNode.Of(input.Path)))
            {
                string same = input.Path == path ? "" : $" '{input.Path}'";
                throw Error(path, $"it is the same file as {input.Role}{same}; an output never replaces one of the command's own inputs");
            }
        }
        return new Target(path, node, destination, streams);
    }

    private static ElmoOutputException Error(string path, string what, Exception? inner = null) =>
        new($"Cannot write '{path}': {what}{(what.EndsWith('.') ? "" : ".")}", inner) { FilePath = path };

    /// <summary>A checked output: as the user named it, what is there, where the bytes go, and whether they are streamed.</summary>
    private sealed record Target(string Display, FileNode Node, string Destination, bool Streams);
}
