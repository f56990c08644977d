namespace Elmo.Core;

/// <summary>
/// A structural defect found by <see cref="Hdf5Scan"/>: a checksum that does not match, a link cycle, a size or
/// address that cannot be right. The message says what, without the file name; callers wrap it in the
/// <see cref="ElmoException"/> of their kind, naming the file.
/// </summary>
internal sealed class Hdf5FormatException(string message, bool notHdf5 = false) : Exception(message)
{
    /// <summary>The file has no HDF5 signature at all (a text file, an HTML page, random bytes).</summary>
    public bool NotHdf5 { get; } = notHdf5;
}
