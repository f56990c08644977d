using Elmo.Core;

namespace Elmo.Cli;

/// <summary>
/// The command line's side of the output-path policy (<see cref="AtomicFile"/>): outputs and the files named by flags
/// are checked before any work (a model download, hours of embedding) is spent on them.
/// </summary>
internal static class OutputPath
{
    /// <summary>
    /// Throws when <paramref name="path"/> cannot be written under the policy (<see cref="AtomicFile.Check"/>), or is one
    /// of <paramref name="inputs"/>; an empty path is a usage error.
    /// </summary>
    /// <param name="path">The output path (<c>-</c> for standard output).</param>
    /// <param name="argument">Its name in messages (<c>OUTPUT</c>).</param>
    /// <param name="inputs">The files the command reads.</param>
    public static void Check(string path, string argument, IEnumerable<InputFile?> inputs)
    {
        if (path.Length == 0) throw new UsageException($"{argument} is empty: name the file to write (or '-' for standard output).");
        AtomicFile.Check(path, inputs);
    }

    /// <summary>Throws when an input file named by a flag is missing or a directory (or, for HDF5, not a regular file).</summary>
    /// <param name="path">The path given, or null when the flag was not.</param>
    /// <param name="flag">The flag, for messages.</param>
    /// <param name="seekable">The file is read by seeking (HDF5): a pipe, a device or a socket is refused.</param>
    public static void CheckInput(string? path, string flag, bool seekable = false)
    {
        if (path is null) return;
        if (path.Length == 0) throw new UsageException($"{flag} is empty: name a file.");
        var node = FileNode.Of(path);
        switch (node.Kind)
        {
            case FileKind.Missing:
                throw new ElmoInputException($"{flag}: file '{path}' does not exist.") { FilePath = path };
            case FileKind.Directory:
                throw new ElmoInputException($"{flag}: '{path}' is a directory, not a file.") { FilePath = path };
            case FileKind.Fifo or FileKind.CharacterDevice or FileKind.Socket or FileKind.BlockDevice when seekable:
                throw new ElmoInputException($"{flag}: '{path}' is {node.Description}; an HDF5 file is read by seeking, so it must be a regular file (copy it to one first).") { FilePath = path };
        }
    }
}
