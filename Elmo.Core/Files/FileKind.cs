namespace Elmo.Core;

/// <summary>What a path names on disk, after following symbolic links.</summary>
public enum FileKind
{
    /// <summary>Nothing (or a dangling symbolic link).</summary>
    Missing,

    /// <summary>A regular file.</summary>
    Regular,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A named pipe (FIFO), or a pipe reached through <c>/dev/fd</c> (<c>&lt;(cmd)</c>, <c>/dev/stdout</c> on a pipe).</summary>
    Fifo,

    /// <summary>A character device (<c>/dev/null</c>, a terminal, ...).</summary>
    CharacterDevice,

    /// <summary>A block device (a disk).</summary>
    BlockDevice,

    /// <summary>A Unix domain socket.</summary>
    Socket,

    /// <summary>Something that could not be examined (no permission, a loop of symbolic links).</summary>
    Unknown,
}
