using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Elmo.Core;

/// <summary>
/// The checkpoint of a resumable run: beside OUTPUT, a working file <c>.NAME.elmo-partial</c> (the output being built,
/// every structure where the finished file has it: <see cref="CorpusFileLayout"/> is a pure function of the input and
/// settings) and a small text file <c>.NAME.elmo-checkpoint</c> that records the run's identity and how many sentences
/// are done. A checkpoint is taken between sentences: every pending batch is embedded, the working file is flushed to
/// disk (fsync), then the record is written to a temporary file, flushed and renamed over the last one, so the record
/// never claims more than the disk holds. A stateful run's record also holds the LSTM states its batches carry into
/// the next (every layer, direction and batch row: output state and memory cell, float32), so that the resumed run's
/// batches start where the interrupted run's would have.
/// </summary>
internal sealed class Checkpoint
{
    private const string Magic = "elmo checkpoint 1";

    private readonly ResumeOptions _options;
    private readonly Stopwatch _sinceLast = Stopwatch.StartNew();
    private long _lastDone;
    private (int Rows, byte[] Bytes)? _resumedState;

    private Checkpoint(string outputPath, ResumeOptions options)
    {
        _options = options;
        string full = Path.GetFullPath(outputPath);
        string directory = Path.GetDirectoryName(full)!, name = Path.GetFileName(full);
        WorkingPath = Path.Combine(directory, $".{name}.elmo-partial");
        RecordPath = Path.Combine(directory, $".{name}.elmo-checkpoint");
    }

    /// <summary>The output being built.</summary>
    public string WorkingPath { get; }

    /// <summary>The record.</summary>
    public string RecordPath { get; }

    /// <summary>Where the last checkpoint stands (null: none, a fresh start).</summary>
    public Progress? Resumed { get; private set; }

    /// <summary>Checkpoints taken by this run.</summary>
    public int Taken { get; private set; }

    /// <summary>The checkpoint files of <paramref name="outputPath"/>.</summary>
    /// <param name="outputPath">OUTPUT.</param>
    /// <param name="options">How often.</param>
    /// <returns>The checkpoint (nothing is read yet).</returns>
    public static Checkpoint For(string outputPath, ResumeOptions? options = null) => new(outputPath, options ?? new ResumeOptions());

    /// <summary>
    /// For a run that is not resumable: refuses to start when an interrupted resumable run of the same output left its
    /// checkpoint, saying how to resume or discard it.
    /// </summary>
    /// <param name="outputPath">OUTPUT.</param>
    /// <exception cref="ElmoOutputException">A checkpoint is there.</exception>
    public static void RefuseLeftovers(string outputPath)
    {
        if (outputPath == AtomicFile.StandardOutput) return;
        var c = For(outputPath);
        if (!File.Exists(c.RecordPath)) return;
        string done = ReadRecord(c.RecordPath) is { } r ? string.Create(CultureInfo.InvariantCulture, $" ({r.Done.Done:N0} of {r.Count:N0} sentences done)") : "";
        throw new ElmoOutputException(
            $"Cannot write '{outputPath}': an interrupted run of it left a checkpoint{done} in '{c.RecordPath}'; add --resume to continue it, or delete '{c.RecordPath}' and '{c.WorkingPath}' to start over.")
        {
            FilePath = outputPath,
        };
    }

    /// <summary>The checkpoint an interrupted run of <paramref name="outputPath"/> left (a record and its working file), or null.</summary>
    /// <param name="outputPath">OUTPUT.</param>
    /// <returns>How far it got and where it is.</returns>
    public static CheckpointInfo? Find(string outputPath)
    {
        if (outputPath == AtomicFile.StandardOutput) return null;
        var c = For(outputPath);
        if (!File.Exists(c.RecordPath) || !File.Exists(c.WorkingPath) || ReadRecord(c.RecordPath) is not { } r) return null;
        return new CheckpointInfo(r.Done.Done, r.Count, c.RecordPath, c.WorkingPath);
    }

    /// <summary>Reads the last checkpoint, if any, and checks that it belongs to this run.</summary>
    /// <param name="outputPath">OUTPUT (for messages).</param>
    /// <param name="identity">This run's identity.</param>
    /// <param name="shard">This run's part, or null.</param>
    /// <param name="shape">This run's file shape.</param>
    /// <exception cref="ElmoInputException">The checkpoint is of another run: one line saying what differs.</exception>
    public void Load(string outputPath, RunIdentity identity, ShardSpec? shard, CorpusFileShape shape)
    {
        Resumed = null;
        if (!File.Exists(RecordPath)) return;
        var record = ReadRecord(RecordPath) ?? throw Refuse(outputPath, "its checkpoint cannot be read");
        if (!File.Exists(WorkingPath)) return; // the run finished and renamed its output, but was stopped before it removed the record
        string? differs =
            record.Identity.Input != identity.Input || record.Identity.Sentences != identity.Sentences ? $"a different input ({record.Identity.Input}; this one is {identity.Input})"
            : record.Identity.Model != identity.Model ? $"a different model ({record.Identity.Model}; this one is {identity.Model})"
            : record.Identity.Settings != identity.Settings ? $"different settings ({record.Identity.Settings}; this run: {identity.Settings})"
            : record.Shard != (shard?.ToString() ?? "-") ? $"a different part (--shard {record.Shard}; this run: {shard?.ToString() ?? "none"})"
            : record.Identity.Version != identity.Version ? $"a different version of elmo ({record.Identity.Version}; this one is {identity.Version})"
            : record.Shape != ShapeText(shape) ? "a different layout of the output"
            : null;
        if (differs is not null) throw Refuse(outputPath, $"the interrupted run embedded {differs}");
        if (new FileInfo(WorkingPath).Length < record.Done.DataOffset) throw Refuse(outputPath, $"'{WorkingPath}' is shorter than its checkpoint says");
        Resumed = record.Done;
        _resumedState = record.State;
        _lastDone = record.Done.Done;
    }

    /// <summary>Whether a checkpoint is due after <paramref name="done"/> sentences.</summary>
    /// <param name="done">Sentences added so far.</param>
    /// <returns>True when <see cref="ResumeOptions.Sentences"/> sentences or <see cref="ResumeOptions.Interval"/> have passed since the last.</returns>
    public bool Due(long done) => done - _lastDone >= _options.Sentences || (done > _lastDone && _sinceLast.Elapsed >= _options.Interval);

    /// <summary>Records that the first <paramref name="progress"/> sentences are on disk in <paramref name="file"/> (flushed here first).</summary>
    /// <param name="file">The working file (every write to it so far done).</param>
    /// <param name="progress">Where the run stands.</param>
    /// <param name="identity">The run.</param>
    /// <param name="shard">The part, or null.</param>
    /// <param name="shape">The file's shape.</param>
    /// <param name="carried">Stateful: the states the batches so far leave for the next (null: none yet, or not stateful).</param>
    public void Save(SafeFileHandle file, Progress progress, RunIdentity identity, ShardSpec? shard, CorpusFileShape shape, LstmState? carried = null)
    {
        RandomAccess.FlushToDisk(file);
        var text = new StringBuilder()
            .AppendLine(Magic)
            .AppendLine(CultureInfo.InvariantCulture, $"shard: {shard?.ToString() ?? "-"}")
            .AppendLine(CultureInfo.InvariantCulture, $"input: {identity.Input}")
            .AppendLine(CultureInfo.InvariantCulture, $"input-sentences: {identity.Sentences}")
            .AppendLine(CultureInfo.InvariantCulture, $"model: {identity.Model}")
            .AppendLine(CultureInfo.InvariantCulture, $"settings: {identity.Settings}")
            .AppendLine(CultureInfo.InvariantCulture, $"version: {identity.Version}")
            .AppendLine(CultureInfo.InvariantCulture, $"shape: {ShapeText(shape)}")
            .AppendLine(CultureInfo.InvariantCulture, $"done: {progress.Done} {progress.DataOffset} {progress.JsonBytes} {progress.Tokens}")
            .AppendLine(carried is null ? "state: -" : string.Create(CultureInfo.InvariantCulture, $"state: {carried.Rows} {Convert.ToBase64String(StateBytes(carried))}"))
            .ToString();
        string tmp = RecordPath + ".tmp";
        using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(Encoding.UTF8.GetBytes(text));
            stream.Flush(flushToDisk: true);
        }
        File.Move(tmp, RecordPath, overwrite: true);
        _lastDone = progress.Done;
        _sinceLast.Restart();
        Taken++;
    }

    /// <summary>Stateful: the states the interrupted run's batches left (null: it had run none, or there is no checkpoint).</summary>
    /// <param name="options">The model's LSTM.</param>
    /// <param name="outputPath">OUTPUT (for messages).</param>
    /// <returns>The states.</returns>
    /// <exception cref="ElmoInputException">The record's states do not fit the model.</exception>
    public LstmState? ResumedState(LstmOptions options, string outputPath)
    {
        if (_resumedState is not { } saved) return null;
        long expected = 2L * options.Layers * saved.Rows * (options.ProjectionDim + options.CellDim) * sizeof(float);
        if (saved.Rows < 1 || saved.Bytes.Length != expected) throw Refuse(outputPath, "its checkpoint's LSTM states do not fit the model");
        var state = new LstmState(options, saved.Rows);
        int at = 0;
        foreach (var a in StateArrays(state))
        {
            var bytes = MemoryMarshal.AsBytes(a.AsSpan());
            saved.Bytes.AsSpan(at, bytes.Length).CopyTo(bytes);
            at += bytes.Length;
        }
        return state;
    }

    /// <summary>The states as bytes: every output state, then every memory cell, each <c>[layer · 2 + direction]</c>, rows × width float32.</summary>
    private static byte[] StateBytes(LstmState state)
    {
        var result = new byte[StateArrays(state).Sum(a => (long)a.Length * sizeof(float))];
        int at = 0;
        foreach (var a in StateArrays(state))
        {
            var bytes = MemoryMarshal.AsBytes(a.AsSpan());
            bytes.CopyTo(result.AsSpan(at));
            at += bytes.Length;
        }
        return result;
    }

    /// <summary>The arrays of <paramref name="state"/> in the order a record holds them: every output state, then every memory cell.</summary>
    private static IEnumerable<float[]> StateArrays(LstmState state)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Checkpoints hold float32 little-endian.");
        return state.Hidden.Concat(state.Cell);
    }

    /// <summary>After the output is in place: the record goes.</summary>
    public void Remove()
    {
        File.Delete(RecordPath);
        File.Delete(RecordPath + ".tmp");
    }

    private static string ShapeText(CorpusFileShape s) =>
        string.Create(CultureInfo.InvariantCulture, $"{s.Count} {s.FirstIndex} {s.Rank} {s.DataBytes} {(s.JsonBytes is long j ? j.ToString(CultureInfo.InvariantCulture) : "-")} {s.NameHeapBytes}");

    private static Record? ReadRecord(string path)
    {
        try
        {
            var lines = File.ReadAllLines(path);
            if (lines.Length < 9 || lines[0] != Magic) return null;
            var map = lines.Skip(1).Where(l => l.Contains(": ", StringComparison.Ordinal)).ToDictionary(l => l[..l.IndexOf(": ", StringComparison.Ordinal)], l => l[(l.IndexOf(": ", StringComparison.Ordinal) + 2)..]);
            var done = map["done"].Split(' ').Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            var identity = new RunIdentity(map["input"], long.Parse(map["input-sentences"], CultureInfo.InvariantCulture), map["model"], map["settings"], map["version"]);
            long count = long.Parse(map["shape"].Split(' ')[0], CultureInfo.InvariantCulture);
            (int, byte[])? state = null;
            if (map.TryGetValue("state", out string? s) && s != "-")
            {
                var f = s.Split(' ');
                state = (int.Parse(f[0], CultureInfo.InvariantCulture), Convert.FromBase64String(f[1]));
            }
            return new Record(map["shard"], identity, map["shape"], count, new Progress(done[0], done[1], done[2], done[3]), state);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or KeyNotFoundException or FormatException or OverflowException or IndexOutOfRangeException or ArgumentException)
        {
            return null;
        }
    }

    private ElmoInputException Refuse(string outputPath, string why) =>
        new($"Cannot resume '{outputPath}': {why}; rerun the command exactly as it was, or delete '{RecordPath}' and '{WorkingPath}' to start over.") { FilePath = outputPath };

    /// <summary>Where a run stands: sentences done (all written), the data region's bytes they fill, <c>sentence_to_index</c> bytes written, tokens.</summary>
    /// <param name="Done">Sentences of the file done.</param>
    /// <param name="DataOffset">Bytes of values they take.</param>
    /// <param name="JsonBytes">Bytes of JSON appended.</param>
    /// <param name="Tokens">Their tokens.</param>
    internal readonly record struct Progress(long Done, long DataOffset, long JsonBytes, long Tokens);

    private sealed record Record(string Shard, RunIdentity Identity, string Shape, long Count, Progress Done, (int Rows, byte[] Bytes)? State);
}
