using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace Elmo.Core;

/// <summary>
/// <c>elmo merge</c>: joins the parts of a split run (<c>elmo embed --shard K/N</c>) into exactly the file one run over
/// the whole input writes, byte for byte. The parts are checked first (same input, model, settings and N; none
/// missing, given twice or overlapping; each complete), then streamed in order: each part's values are copied to
/// their place as they are read and checksummed on the way, and its headers, <c>sentence_to_index</c> share and names
/// follow. Memory holds a few buffers, whatever the size of the parts.
/// </summary>
public static class PartMerger
{
    /// <summary>
    /// Bytes read, checksummed and written at a time: small enough that the checksum and the write find the chunk
    /// still in the core's L2 cache, so each byte is fetched from memory once. Measured on 1 GB of parts: 256 KB
    /// chunks 0.54–0.77 s, 4 MB chunks 1.5 s, and checksumming 4 MB reads while the kernel copies the values
    /// (<c>copy_file_range</c>, which reads them a second time) 0.95–1.14 s (docs/performance.md).
    /// </summary>
    private const int CopyBuffer = 256 << 10;

    /// <summary>The files named by <paramref name="arguments"/>: a file as it is, a directory's files (those whose name starts with '.' left out), a pattern with <c>*</c> or <c>?</c> in its last component as the files it matches; each in name order.</summary>
    /// <param name="arguments">Files, directories, patterns.</param>
    /// <returns>The files.</returns>
    /// <exception cref="ElmoInputException">A directory with no file, a pattern that matches nothing, a file that does not exist.</exception>
    public static IReadOnlyList<string> FindParts(IEnumerable<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var result = new List<string>();
        foreach (string argument in arguments)
        {
            if (Directory.Exists(argument))
            {
                var files = Directory.EnumerateFiles(argument).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal).ToList();
                if (files.Count == 0) throw new ElmoInputException($"Directory '{argument}' holds no part files.") { FilePath = argument };
                result.AddRange(files);
            }
            else if (!File.Exists(argument) && Path.GetFileName(argument).IndexOfAny(['*', '?']) >= 0)
            {
                string directory = Path.GetDirectoryName(argument) is { Length: > 0 } d ? d : ".";
                var files = Directory.Exists(directory)
                    ? Directory.EnumerateFiles(directory, Path.GetFileName(argument)).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal).ToList()
                    : [];
                if (files.Count == 0) throw new ElmoInputException($"No file matches '{argument}'.") { FilePath = argument };
                result.AddRange(directory == "." && !argument.StartsWith("./", StringComparison.Ordinal) ? files.Select(f => Path.GetRelativePath(".", f)) : files);
            }
            else if (!File.Exists(argument))
            {
                throw new ElmoInputException($"Part '{argument}' does not exist.") { FilePath = argument };
            }
            else
            {
                result.Add(argument);
            }
        }
        return result;
    }

    /// <summary>Checks that <paramref name="paths"/> are every part of one split run, each once, complete.</summary>
    /// <param name="paths">The part files.</param>
    /// <returns>The parts in order.</returns>
    /// <exception cref="ElmoInputException">One line naming the part and the problem.</exception>
    internal static IReadOnlyList<PartFile> Check(IReadOnlyList<string> paths)
    {
        if (paths.Count == 0) throw new ElmoInputException("No parts to merge.");
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string path in paths)
        {
            string full = FileNode.Of(path).FullPath;
            if (seen.TryGetValue(full, out string? earlier)) throw new ElmoInputException($"Part '{path}' is given twice{(earlier == path ? "" : $" (also as '{earlier}')")}.") { FilePath = path };
            seen[full] = path;
        }
        var parts = paths.Select(PartFile.Read).ToList();
        var first = parts[0];
        foreach (var p in parts.Skip(1))
        {
            string Versus(string what, string mine, string theirs) =>
                $"{what} ({mine}) than part '{first.Path}' ({theirs}); parts merge only with parts of the same run";
            if (p.Shard.Count != first.Shard.Count) throw Bad(p, Versus("comes from a split into a different number of parts", $"shard {p.Shard}", $"shard {first.Shard}"));
            if (p.Identity.Input != first.Identity.Input || p.Identity.Sentences != first.Identity.Sentences) throw Bad(p, Versus("was embedded from a different input", p.Identity.Input, first.Identity.Input));
            if (p.Identity.Model != first.Identity.Model) throw Bad(p, Versus("was embedded with a different model", p.Identity.Model, first.Identity.Model));
            if (p.Identity.Settings != first.Identity.Settings) throw Bad(p, Versus("was embedded with different settings", p.Identity.Settings, first.Identity.Settings));
            if (p.Identity.Version != first.Identity.Version) throw Bad(p, Versus("was written by a different version of elmo", p.Identity.Version, first.Identity.Version));
        }
        var byIndex = new Dictionary<int, PartFile>();
        foreach (var p in parts)
        {
            if (byIndex.TryGetValue(p.Shard.Index, out var other)) throw Bad(p, $"and part '{other.Path}' are both shard {p.Shard}; give each part once");
            byIndex[p.Shard.Index] = p;
        }
        int n = first.Shard.Count;
        if (byIndex.Count != n)
        {
            var missing = Enumerable.Range(1, n).Where(k => !byIndex.ContainsKey(k)).ToList();
            string list = missing.Count <= 10 ? string.Join(", ", missing) : string.Join(", ", missing.Take(10)) + $" and {missing.Count - 10} more";
            throw new ElmoInputException($"Shard{(missing.Count == 1 ? "" : "s")} {list} of {n} {(missing.Count == 1 ? "is" : "are")} missing: {parts.Count} of {n} parts given (from '{first.Path}' on); embed {(missing.Count == 1 ? "it" : "them")} with 'elmo embed ... --shard K/{n}', or name {(missing.Count == 1 ? "its file" : "their files")} too.") { FilePath = first.Path };
        }
        var ordered = Enumerable.Range(1, n).Select(k => byIndex[k]).ToList();
        long end = 0;
        for (int k = 0; k < ordered.Count; k++)
        {
            var p = ordered[k];
            if (p.First != end)
            {
                string where = k == 0 ? "the input starts at sentence 0" : $"part '{ordered[k - 1].Path}' ends at sentence {end}";
                throw Bad(p, $"holds sentences {p.First}-{p.End}, but {where}: the parts {(p.First < end ? "overlap" : "leave a gap")}");
            }
            if (p.Shape.Rank != first.Shape.Rank || (p.Shape.JsonBytes is null) != (first.Shape.JsonBytes is null)) throw Bad(p, "is damaged: its shape does not match its settings");
            end = p.End;
        }
        if (end != first.Identity.Sentences) throw Bad(ordered[^1], $"ends at sentence {end}, but the input has {first.Identity.Sentences}");
        return ordered;
    }

    /// <summary>Merges the parts into <paramref name="outputPath"/> (atomically, under the output-path policy).</summary>
    /// <param name="partPaths">The part files (any order).</param>
    /// <param name="outputPath">The file to write.</param>
    /// <param name="cancellationToken">Stops between buffers; nothing is written.</param>
    /// <returns>What was merged.</returns>
    /// <exception cref="ElmoInputException">The parts do not make one whole run, or one is damaged: one line naming it.</exception>
    /// <exception cref="ElmoOutputException">The output cannot be written.</exception>
    public static MergeResult Merge(IReadOnlyList<string> partPaths, string outputPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(partPaths);
        ArgumentNullException.ThrowIfNull(outputPath);
        var watch = Stopwatch.StartNew();
        var inputs = partPaths.Select(p => (InputFile?)new InputFile(p, "a part")).ToList();
        AtomicFile.Check(outputPath, inputs);
        var parts = Check(partPaths);
        var first = parts[0];
        bool keys = first.Identity.Settings.Contains(", sentence keys", StringComparison.Ordinal);
        long count = parts.Sum(p => p.Shape.Count), dataBytes = parts.Sum(p => p.Shape.DataBytes);
        long? json = first.Shape.JsonBytes is null ? null : 2 + parts.Sum(p => p.Shape.JsonBytes!.Value - 2) + 2 * Math.Max(0, parts.Count(p => p.Shape.JsonBytes > 2) - 1);
        var shape = keys
            ? new CorpusFileShape(count, 0, first.Shape.Rank, dataBytes, json, parts.Sum(p => p.Shape.NameHeapBytes))
            : CorpusFileShape.ByIndex(count, 0, first.Shape.Rank, dataBytes, json);
        var layout = new CorpusFileLayout(shape);
        var (layers, dim) = FirstDims(parts);

        long size = 0;
        AtomicFile.Write(outputPath, tmp =>
        {
            using var file = File.OpenHandle(tmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
            var writer = new CorpusFileWriter(file, layout, layers, dim);
            var buffer = new byte[CopyBuffer];
            long offset = 0;
            bool anyJson = false;
            foreach (var part in parts)
            {
                using var source = File.OpenHandle(part.Path, FileMode.Open, FileAccess.Read, FileShare.Read);
                CopyAndCheck(part, source, file, layout.DataStart + offset, buffer, cancellationToken);
                AppendHeaders(part, source, writer, offset, buffer);
                if (json is not null) anyJson |= AppendJson(part, source, writer, anyJson, buffer);
                offset += part.Shape.DataBytes;
            }
            if (json is not null) writer.AppendJson(anyJson ? "}"u8 : "{}"u8);
            size = writer.Finish(keys ? new MergedKeys(parts, layout) : new IndexNames(0, count), []);
        }, inputs);
        return new MergeResult(parts.Count, count, size, watch.Elapsed);
    }

    /// <summary>Layers and values per token, from the first dataset of any part.</summary>
    private static (int Layers, int Dim) FirstDims(IReadOnlyList<PartFile> parts)
    {
        foreach (var p in parts.Where(p => p.Shape.Count > 0))
        {
            using var source = File.OpenHandle(p.Path, FileMode.Open, FileAccess.Read, FileShare.Read);
            var header = new byte[p.Layout.DatasetHeaderSize];
            RandomAccess.Read(source, header, p.Layout.HeadersStart);
            var (layers, _, dim, _) = ParseHeader(p, header);
            return (layers, dim);
        }
        return (1, 1);
    }

    /// <summary>
    /// Reads the part once, from its first byte to its root header, checksumming every chunk and writing the chunks
    /// of values from the same buffer to their place in <paramref name="output"/>. A wrong checksum is found only after
    /// the last chunk is written: the caller's temporary output is then removed, so nothing is left.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void CopyAndCheck(PartFile part, SafeFileHandle source, SafeFileHandle output, long destination, byte[] buffer, CancellationToken cancellationToken)
    {
        var crc = new Crc32C();
        long dataStart = part.Layout.DataStart, dataEnd = dataStart + part.Shape.DataBytes, end = part.Layout.RootHeaderStart;
        for (long at = 0; at < end;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Chunks never straddle the data region's edges, so each is either written whole or not at all.
            long limit = at < dataStart ? dataStart : at < dataEnd ? dataEnd : end;
            int n = RandomAccess.Read(source, buffer.AsSpan(0, (int)Math.Min(buffer.Length, limit - at)), at);
            if (n <= 0) throw PartFile.Bad(part.Path, "is incomplete: it ended while being read");
            var chunk = buffer.AsSpan(0, n);
            crc.Append(chunk);
            if (at >= dataStart && at < dataEnd) RandomAccess.Write(output, chunk, destination + (at - dataStart));
            at += n;
        }
        if (crc.Value != part.Checksum)
        {
            throw PartFile.Bad(part.Path, string.Create(CultureInfo.InvariantCulture, $"is damaged: its checksum is {crc.Value:x8}, it recorded {part.Checksum:x8} (embed shard {part.Shard} again)"));
        }
    }

    /// <summary>Appends the part's dataset headers, with their values moved to where they are in the merged file.</summary>
    private static void AppendHeaders(PartFile part, SafeFileHandle source, CorpusFileWriter writer, long offset, byte[] buffer)
    {
        int size = part.Layout.DatasetHeaderSize, perRead = buffer.Length / size;
        long local = 0, dataOffset = 0;
        while (local < part.Shape.Count)
        {
            int n = (int)Math.Min(perRead, part.Shape.Count - local);
            if (RandomAccess.Read(source, buffer.AsSpan(0, n * size), part.Layout.HeaderAddress(local)) != n * size) throw PartFile.Bad(part.Path, "is incomplete");
            for (int i = 0; i < n; i++)
            {
                var (_, tokens, _, address) = ParseHeader(part, buffer.AsSpan(i * size, size));
                ulong expected = tokens == 0 ? Hdf5Format.Undefined : (ulong)(part.Layout.DataStart + dataOffset);
                if (address != expected || dataOffset + writer.DataBytes(tokens) > part.Shape.DataBytes) throw PartFile.Bad(part.Path, $"is damaged: dataset {part.First + local + i} is not where its layout puts it");
                writer.AppendHeader(offset + dataOffset, tokens);
                dataOffset += writer.DataBytes(tokens);
            }
            local += n;
        }
        if (dataOffset != part.Shape.DataBytes) throw PartFile.Bad(part.Path, "is damaged: its datasets do not fill its data region");
    }

    /// <summary>Appends the part's share of <c>sentence_to_index</c> (its JSON without the braces); returns whether it had any.</summary>
    private static bool AppendJson(PartFile part, SafeFileHandle source, CorpusFileWriter writer, bool after, byte[] buffer)
    {
        long length = part.Shape.JsonBytes!.Value;
        if (length <= 2) return false;
        writer.AppendJson(after ? ", "u8 : "{"u8);
        long start = part.Layout.JsonStart + 1, end = part.Layout.JsonStart + length - 1;
        for (long at = start; at < end;)
        {
            int n = RandomAccess.Read(source, buffer.AsSpan(0, (int)Math.Min(buffer.Length, end - at)), at);
            if (n <= 0) throw PartFile.Bad(part.Path, "is incomplete");
            writer.AppendJson(buffer.AsSpan(0, n));
            at += n;
        }
        return true;
    }

    /// <summary>A dataset header's layers, tokens, values per token and data address (as <see cref="Hdf5Format.WriteFloatDatasetHeader"/> writes it).</summary>
    private static (int Layers, int Tokens, int Dim, ulong Address) ParseHeader(PartFile part, ReadOnlySpan<byte> header)
    {
        // Prefix (16), dataspace message header (8) and its first 8 bytes, then the dimensions; the layout message ends the header.
        int rank = part.Shape.Rank;
        if (header[0] != 1 || header[25] != rank) throw PartFile.Bad(part.Path, "is damaged: a dataset header cannot be read");
        int d0 = (int)BinaryPrimitives.ReadUInt64LittleEndian(header[32..]), d1 = (int)BinaryPrimitives.ReadUInt64LittleEndian(header[40..]);
        ulong address = BinaryPrimitives.ReadUInt64LittleEndian(header[(header.Length - 22)..]);
        return rank == 3 ? (d0, d1, (int)BinaryPrimitives.ReadUInt64LittleEndian(header[48..]), address) : (1, d0, d1, address);
    }

    private static ElmoInputException Bad(PartFile part, string what) => PartFile.Bad(part.Path, what);
}
