using System.Runtime.InteropServices;

namespace Elmo.Core;

/// <summary>
/// What a path is on disk and which file it is: its kind (regular file, directory, pipe, device, ...) and its identity
/// (device and inode), after following symbolic links. Two paths name the same file when their identities are equal,
/// whatever their spelling: a symbolic link, a hard link, <c>..</c> or a bind mount are all seen through.
/// </summary>
/// <remarks>
/// On Unix the identity comes from <c>stat(2)</c>, through the .NET runtime's own native shim (<c>libSystem.Native</c>,
/// present in every .NET install and linked into Native AOT binaries), so no native library of ours is involved. Where
/// that is not available (Windows), the kind is what <see cref="File"/> and <see cref="System.IO.Directory"/> can tell
/// and the identity is the full path after resolving links (<see cref="HasIdentity"/> says which).
/// </remarks>
/// <param name="Kind">What the path names.</param>
/// <param name="Device">The device holding the file (0 when unknown).</param>
/// <param name="Inode">The file's inode on that device (0 when unknown).</param>
/// <param name="Size">The size in bytes (regular files).</param>
/// <param name="SpecialDevice">For a device node, the device it stands for (<c>st_rdev</c>).</param>
/// <param name="FullPath">The full path after resolving links, as far as it could be resolved.</param>
public readonly partial record struct FileNode(FileKind Kind, long Device, long Inode, long Size, long SpecialDevice, string FullPath)
{
    private const int TypeMask = 0xF000;
    private const int ErrorNoEntry = 2;
    private const int ErrorNotDirectory = 20;

    private static readonly Lazy<bool> NativeStat = new(CheckNativeStat);
    private static readonly Lazy<long> NullDevice = new(() => Of("/dev/null") is { Kind: FileKind.CharacterDevice } n ? n.SpecialDevice : -1);

    /// <summary>Whether <see cref="Device"/> and <see cref="Inode"/> are real (Unix), rather than a comparison of resolved paths.</summary>
    public static bool HasIdentity => NativeStat.Value;

    /// <summary>Whether this is the null device (<c>/dev/null</c>, or another node for the same device).</summary>
    public bool IsNullDevice => Kind == FileKind.CharacterDevice && HasIdentity && SpecialDevice == NullDevice.Value;

    /// <summary>What kind of file this is, in words ("a directory", "a named pipe (FIFO)", ...).</summary>
    public string Description => Kind switch
    {
        FileKind.Missing => "missing",
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a directory",
        FileKind.Fifo => "a pipe (FIFO)",
        FileKind.CharacterDevice => IsNullDevice ? "the null device" : "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Socket => "a socket",
        _ => "not accessible",
    };

    /// <summary>Examines <paramref name="path"/>, following symbolic links.</summary>
    /// <param name="path">A path.</param>
    /// <returns>Its kind and identity; <see cref="FileKind.Missing"/> when nothing is there.</returns>
    public static FileNode Of(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = ResolvedPath(path);
        if (NativeStat.Value)
        {
            return Stat(path, out var status) == 0 ? FromStatus(status, full) : FromError(Marshal.GetLastPInvokeError(), full);
        }
        if (System.IO.Directory.Exists(path)) return new FileNode(FileKind.Directory, 0, 0, 0, 0, full);
        if (File.Exists(path)) return new FileNode(FileKind.Regular, 0, 0, new FileInfo(path).Length, 0, full);
        return new FileNode(FileKind.Missing, 0, 0, 0, 0, full);
    }

    /// <summary>Examines the process's standard output (file descriptor 1).</summary>
    /// <returns>Its kind and identity; <see cref="FileKind.Unknown"/> where it cannot be examined.</returns>
    public static FileNode OfStandardOutput()
    {
        if (NativeStat.Value)
        {
            return FStat(1, out var status) == 0 ? FromStatus(status, "(standard output)") : new FileNode(FileKind.Unknown, 0, 0, 0, 0, "(standard output)");
        }
        return new FileNode(FileKind.Unknown, 0, 0, 0, 0, "(standard output)");
    }

    /// <summary>Whether both name the same existing file (same device and inode; same resolved path where identities are not available).</summary>
    /// <param name="other">Another node.</param>
    /// <returns>True for the same file.</returns>
    public bool IsSameFileAs(FileNode other)
    {
        if (Kind is FileKind.Missing or FileKind.Unknown || other.Kind is FileKind.Missing or FileKind.Unknown) return false;
        if (HasIdentity) return Device == other.Device && Inode == other.Inode;
        return string.Equals(FullPath, other.FullPath, OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
    }

    /// <summary>The full path with symbolic links resolved (the final target of a chain of links, even a dangling one).</summary>
    /// <param name="path">A path.</param>
    /// <returns>The resolved full path; the full path itself when it is no link or cannot be resolved.</returns>
    public static string ResolvedPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        try
        {
            var info = new FileInfo(full);
            if (info.LinkTarget is null) return full;
            return info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return full; // a loop of links, or no permission: the caller's stat says what is wrong
        }
    }

    private static FileNode FromStatus(in Status s, string full)
    {
        var kind = (s.Mode & TypeMask) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0x1000 => FileKind.Fifo,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            0xC000 => FileKind.Socket,
            _ => FileKind.Unknown,
        };
        return new FileNode(kind, s.Dev, s.Ino, s.Size, s.RDev, full);
    }

    private static FileNode FromError(int errno, string full) =>
        new(errno is ErrorNoEntry or ErrorNotDirectory ? FileKind.Missing : FileKind.Unknown, 0, 0, 0, 0, full);

    /// <summary>
    /// Whether the runtime's stat shim is there and lays its result out as expected: a directory must come back as a
    /// directory and this process's executable with its real size, else identities are not trusted.
    /// </summary>
    private static bool CheckNativeStat()
    {
        if (OperatingSystem.IsWindows() || OperatingSystem.IsBrowser()) return false;
        try
        {
            string directory = AppContext.BaseDirectory;
            string? executable = Environment.ProcessPath;
            if (Stat(directory, out var d) != 0 || (d.Mode & TypeMask) != 0x4000 || d.Ino == 0) return false;
            if (executable is null || Stat(executable, out var f) != 0 || (f.Mode & TypeMask) != 0x8000) return false;
            return f.Size == new FileInfo(executable).Length;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The runtime's <c>FileStatus</c> (src/native/libs/System.Native/pal_io.h).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Status
    {
        public int Flags;
        public int Mode;
        public uint Uid;
        public uint Gid;
        public long Size;
        public long ATime;
        public long ATimeNsec;
        public long MTime;
        public long MTimeNsec;
        public long CTime;
        public long CTimeNsec;
        public long BirthTime;
        public long BirthTimeNsec;
        public long Dev;
        public long RDev;
        public long Ino;
        public uint UserFlags;
    }

    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_Stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Stat(string path, out Status status);

    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_FStat", SetLastError = true)]
    private static partial int FStat(nint fd, out Status status);
}
