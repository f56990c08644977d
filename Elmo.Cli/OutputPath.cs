using Elmo.Core;

namespace Elmo.Cli;

/// <summary>Checks an output path before any work (a model download, hours of embedding) is spent on it.</summary>
internal static class OutputPath
{
    /// <summary>Throws when <paramref name="path"/> is a directory or its directory does not exist.</summary>
    public static void Check(string path)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new ElmoOutputException($"Cannot write '{path}': it is a directory.") { FilePath = path };
        string? dir = Path.GetDirectoryName(full);
        if (dir is not null && !Directory.Exists(dir)) throw new ElmoOutputException($"Cannot write '{path}': directory '{dir}' does not exist.") { FilePath = path };
    }

    /// <summary>Throws when an input file named by a flag does not exist.</summary>
    public static void CheckInput(string? path, string flag)
    {
        if (path is not null && !File.Exists(path))
        {
            throw new ElmoInputException($"{flag}: file '{path}' does not exist.") { FilePath = path };
        }
    }
}
