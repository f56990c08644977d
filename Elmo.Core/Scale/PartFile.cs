using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Elmo.Core;

/// <summary>
/// A part of a split run (<c>elmo embed --shard K/N</c>): a corpus file of the part's sentences (named by their index
/// in the whole input, or by sentence), whose <c>sentence_to_index</c> holds the part's share of the whole map, and
/// whose root group records, as string attributes, what it is: the shard, the run's identity (<see cref="RunIdentity"/>),
/// the sentence range, the file's shape, and a CRC-32C of every byte before the root group's header.
/// </summary>
/// <param name="Path">The file.</param>
/// <param name="Shard">Which part.</param>
/// <param name="Identity">The run it belongs to.</param>
/// <param name="Shape">What the file holds (its layout follows).</param>
/// <param name="Checksum">The CRC-32C of bytes [0, <see cref="CorpusFileLayout.RootHeaderStart"/>).</param>
internal sealed record PartFile(string Path, ShardSpec Shard, RunIdentity Identity, CorpusFileShape Shape, uint Checksum)
{
    private const string ShardName = "elmo_part";
    private const string InputName = "elmo_input";
    private const string InputSentencesName = "elmo_input_sentences";
    private const string RangeName = "elmo_sentences";
    private const string ModelName = "elmo_model";
    private const string SettingsName = "elmo_settings";
    private const string VersionName = "elmo_version";
    private const string ShapeName = "elmo_shape";

    /// <summary>The attribute that holds the checksum (the root header's last).</summary>
    public const string ChecksumName = "elmo_checksum";

    /// <summary>Index of the part's first sentence in the input.</summary>
    public long First => Shape.FirstIndex;

    /// <summary>One past its last.</summary>
    public long End => Shape.FirstIndex + Shape.Count;

    /// <summary>Where everything is.</summary>
    public CorpusFileLayout Layout { get; } = new(Shape);

    /// <summary>The attributes a part records (all but the checksum, which <see cref="CorpusFileWriter.Finish"/> adds).</summary>
    /// <param name="shard">The part.</param>
    /// <param name="identity">The run.</param>
    /// <param name="shape">The file's shape.</param>
    /// <returns>Name and UTF-8 value of each.</returns>
    public static IReadOnlyList<(string Name, byte[] Value)> Attributes(ShardSpec shard, RunIdentity identity, CorpusFileShape shape) =>
    [
        (ShardName, Utf8(shard.ToString())),
        (InputName, Utf8(identity.Input)),
        (InputSentencesName, Utf8(identity.Sentences.ToString(CultureInfo.InvariantCulture))),
        (RangeName, Utf8(string.Create(CultureInfo.InvariantCulture, $"{shape.FirstIndex}-{shape.FirstIndex + shape.Count}"))),
        (ModelName, Utf8(identity.Model)),
        (SettingsName, Utf8(identity.Settings)),
        (VersionName, Utf8(identity.Version)),
        (ShapeName, Utf8(string.Create(CultureInfo.InvariantCulture, $"{shape.Count} {shape.FirstIndex} {shape.Rank} {shape.DataBytes} {(shape.JsonBytes is long j ? j.ToString(CultureInfo.InvariantCulture) : "-")} {shape.NameHeapBytes}"))),
    ];

    /// <summary>Reads what a part records and checks that the file has the size and structure its shape gives (the checksum is checked while it is read whole).</summary>
    /// <param name="path">The file.</param>
    /// <returns>The part.</returns>
    /// <exception cref="ElmoInputException">Not a readable part, or incomplete.</exception>
    public static PartFile Read(string path)
    {
        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Bad(path, $"cannot be read ({e.Message})");
        }
        using (file)
        {
            long size = RandomAccess.GetLength(file);
            var superblock = new byte[Hdf5Format.SuperblockSize];
            if (size < superblock.Length || RandomAccess.Read(file, superblock, 0) < superblock.Length || !superblock.AsSpan(0, 8).SequenceEqual((ReadOnlySpan<byte>)[0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]))
            {
                throw Bad(path, $"is not an HDF5 file ({size:N0} bytes; a part is written whole, so an incomplete one is not a part either)");
            }
            long endOfFile = (long)BinaryPrimitives.ReadUInt64LittleEndian(superblock.AsSpan(40));
            long rootHeader = (long)BinaryPrimitives.ReadUInt64LittleEndian(superblock.AsSpan(64));
            if (endOfFile != size) throw Bad(path, $"is incomplete or damaged: {size:N0} bytes, its superblock says {endOfFile:N0}");
            if (rootHeader < superblock.Length || rootHeader + Hdf5Format.ObjectHeaderPrefixSize > size) throw Bad(path, "is damaged: its root group is outside the file");
            var attributes = ReadAttributes(file, rootHeader, size, path);
            if (!attributes.TryGetValue(ShardName, out string? shardText))
            {
                throw Bad(path, "is not a part of a split run (it records no shard; 'elmo embed --shard K/N' writes parts)");
            }
            try
            {
                var shard = ParseShard(shardText);
                var identity = new RunIdentity(attributes[InputName], long.Parse(attributes[InputSentencesName], CultureInfo.InvariantCulture), attributes[ModelName], attributes[SettingsName], attributes[VersionName]);
                var f = attributes[ShapeName].Split(' ');
                var shape = new CorpusFileShape(
                    long.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture), int.Parse(f[2], CultureInfo.InvariantCulture),
                    long.Parse(f[3], CultureInfo.InvariantCulture), f[4] == "-" ? null : long.Parse(f[4], CultureInfo.InvariantCulture), long.Parse(f[5], CultureInfo.InvariantCulture));
                uint checksum = uint.Parse(attributes[ChecksumName], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                var part = new PartFile(path, shard, identity, shape, checksum);
                if (part.Layout.RootHeaderStart != rootHeader) throw Bad(path, "is damaged: its root group is not where its recorded shape puts it");
                return part;
            }
            catch (Exception e) when (e is KeyNotFoundException or FormatException or OverflowException or IndexOutOfRangeException or ArgumentException)
            {
                throw Bad(path, "is damaged: its part record cannot be read");
            }
        }
    }

    /// <summary><c>K/N</c>.</summary>
    private static ShardSpec ParseShard(string text)
    {
        var f = text.Split('/');
        var shard = new ShardSpec(int.Parse(f[0], CultureInfo.InvariantCulture), int.Parse(f[1], CultureInfo.InvariantCulture));
        shard.Validate();
        return shard;
    }

    /// <summary>The string attributes of the root group's object header (version 1, as <see cref="Hdf5Format.WriteGroupHeader"/> writes it).</summary>
    private static Dictionary<string, string> ReadAttributes(SafeFileHandle file, long at, long size, string path)
    {
        var prefix = new byte[Hdf5Format.ObjectHeaderPrefixSize];
        RandomAccess.Read(file, prefix, at);
        long bytes = BinaryPrimitives.ReadUInt32LittleEndian(prefix.AsSpan(8));
        if (prefix[0] != 1 || at + Hdf5Format.ObjectHeaderPrefixSize + bytes > size || bytes > 1 << 20) throw Bad(path, "is damaged: its root group's header cannot be read");
        var header = new byte[bytes];
        RandomAccess.Read(file, header, at + Hdf5Format.ObjectHeaderPrefixSize);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        int p = 0;
        while (p + Hdf5Format.MessageHeaderSize <= header.Length)
        {
            int type = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(p));
            int length = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(p + 2));
            int data = p + Hdf5Format.MessageHeaderSize;
            if (data + length > header.Length) throw Bad(path, "is damaged: its root group's header cannot be read");
            if (type == 0x0C && length >= 8)
            {
                var d = header.AsSpan(data, length);
                int nameSize = BinaryPrimitives.ReadUInt16LittleEndian(d[2..]);
                int typeSize = BinaryPrimitives.ReadUInt16LittleEndian(d[4..]);
                int spaceSize = BinaryPrimitives.ReadUInt16LittleEndian(d[6..]);
                int nameAt = 8, typeAt = nameAt + (int)Hdf5Format.Pad8(nameSize), valueAt = typeAt + (int)Hdf5Format.Pad8(typeSize) + (int)Hdf5Format.Pad8(spaceSize);
                if (nameSize >= 1 && valueAt <= d.Length && typeSize >= 8 && (d[typeAt] & 0x0F) == 3)
                {
                    int valueSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(d[(typeAt + 4)..]);
                    if (valueAt + valueSize <= d.Length)
                    {
                        string name = Encoding.UTF8.GetString(d.Slice(nameAt, nameSize - 1));
                        result[name] = Encoding.UTF8.GetString(d.Slice(valueAt, valueSize)).TrimEnd('\0');
                    }
                }
            }
            p = data + length;
        }
        return result;
    }

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>One line naming the part and what is wrong with it.</summary>
    public static ElmoInputException Bad(string path, string what) => new($"Part '{path}' {what}.") { FilePath = path };
}
