using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Robustness;

/// <summary>
/// Seeded random mutations of weight files, options JSON and input lines. Every case must end in success or
/// in a documented <see cref="ElmoException"/> within its time limit: any other exception, or a hang, fails.
/// A failure message names the case number, so a case can be replayed by its seed.
/// </summary>
[TestFixture]
public class FuzzTests
{
    /// <summary>The seed; <c>ELMO_FUZZ_SEED</c> overrides it for a longer campaign on another part of the space.</summary>
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("ELMO_FUZZ_SEED"), out int s) ? s : 0x5EED;

    /// <summary>Multiplies the case counts (<c>ELMO_FUZZ_SCALE</c>, default 1: a few thousand cases in CI time).</summary>
    private static readonly int Scale = int.TryParse(Environment.GetEnvironmentVariable("ELMO_FUZZ_SCALE"), out int k) && k > 0 ? k : 1;

    private static readonly int WeightCases = 400 * Scale;
    private static readonly int OptionsCases = 2000 * Scale;
    private static readonly int InputCases = 1000 * Scale;
    private static readonly int WarmStateCases = 200 * Scale;
    private static readonly TimeSpan CaseLimit = TimeSpan.FromSeconds(20);

    /// <summary>Outcome counts of a fuzz run, and the cases that broke the contract.</summary>
    private sealed class Outcomes
    {
        public int Succeeded;
        public int Refused;
        public readonly ConcurrentQueue<string> Failures = new();
        public readonly Dictionary<string, int> RefusedBy = new();

        /// <summary>Runs one case on a worker with a time limit; only an <see cref="ElmoException"/> may escape it.</summary>
        public void Run(string what, Action action)
        {
            if (Failures.Count >= 10) return;
            var task = Task.Factory.StartNew(() =>
            {
                try
                {
                    action();
                    return (Exception?)null;
                }
                catch (Exception e)
                {
                    return e;
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (!task.Wait(CaseLimit))
            {
                Failures.Enqueue($"{what}: no result within {CaseLimit.TotalSeconds} s (hang)");
                return;
            }
            switch (task.Result)
            {
                case null:
                    Succeeded++;
                    break;
                case ElmoException e:
                    Refused++;
                    string kind = e.GetType().Name;
                    RefusedBy[kind] = RefusedBy.GetValueOrDefault(kind) + 1;
                    if (string.IsNullOrWhiteSpace(e.Message)) Failures.Enqueue($"{what}: {kind} without a message");
                    break;
                case var e:
                    Failures.Enqueue($"{what}: undocumented {e.GetType().FullName}: {e}");
                    break;
            }
        }

        public void AssertClean(string what, int cases)
        {
            TestContext.Out.WriteLine($"{what} (seed {Seed}): {cases} cases, {Succeeded} succeeded, {Refused} refused ({string.Join(", ", RefusedBy.Select(kv => $"{kv.Key} {kv.Value}"))})");
            Assert.That(Failures, Is.Empty, what);
        }
    }

    // ---- weight files -------------------------------------------------------------------------

    /// <summary>Byte flips (biased towards HDF5 metadata), overwritten blocks and truncations of the fixture weights.</summary>
    [Test]
    public void MutatedWeightFiles()
    {
        byte[] original = File.ReadAllBytes(Reference.FixtureWeights);
        var options = WeightVariants.FixtureOptions;
        var metadata = MetadataOffsets(original);
        var rng = new Random(Seed);
        var outcomes = new Outcomes();
        using var dir = new TempDir();
        var watch = Stopwatch.StartNew();
        for (int c = 0; c < WeightCases; c++)
        {
            byte[] bytes = (byte[])original.Clone();
            int length = bytes.Length;
            string how;
            switch (rng.Next(4))
            {
                case 0:
                    length = rng.Next(2) == 0 ? rng.Next(4096) : rng.Next(bytes.Length);
                    how = $"cut to {length}";
                    break;
                case 1:
                    int flips = 1 + rng.Next(8);
                    var at = new List<int>();
                    for (int i = 0; i < flips; i++)
                    {
                        int pos = rng.Next(3) switch
                        {
                            0 => rng.Next(2048),
                            1 => Math.Clamp(metadata[rng.Next(metadata.Length)] + rng.Next(-512, 512), 0, bytes.Length - 1),
                            _ => rng.Next(bytes.Length),
                        };
                        bytes[pos] ^= (byte)(1 << rng.Next(8));
                        at.Add(pos);
                    }
                    how = "bits flipped at " + string.Join(",", at);
                    break;
                case 2:
                    int start = rng.Next(2) == 0 ? Math.Clamp(metadata[rng.Next(metadata.Length)] + rng.Next(-256, 256), 0, bytes.Length - 1) : rng.Next(bytes.Length);
                    int count = Math.Min(1 + rng.Next(64), bytes.Length - start);
                    byte fill = (byte)(rng.Next(3) switch { 0 => 0x00, 1 => 0xFF, _ => rng.Next(256) });
                    bytes.AsSpan(start, count).Fill(fill);
                    how = $"{count} bytes at {start} set to {fill:X2}";
                    break;
                default:
                    int p = Math.Clamp(metadata[rng.Next(metadata.Length)] + rng.Next(-128, 128), 0, bytes.Length - 9);
                    BitConverter.TryWriteBytes(bytes.AsSpan(p), rng.Next(3) switch { 0 => ulong.MaxValue, 1 => (ulong)rng.NextInt64(), _ => (ulong)rng.Next(1 << 20) });
                    how = $"8-byte value written at {p}";
                    break;
            }
            string path = dir.File($"w{c % 4}.hdf5");
            File.WriteAllBytes(path, bytes.AsSpan(0, length).ToArray());
            outcomes.Run($"weights case {c} ({how})", () =>
            {
                var model = new ElmoModel(ElmoWeights.Load(path, options));
                model.CreateSession(StateMode.Stateless, threads: 1).Run([["a", "short", "test"]]);
            });
        }
        TestContext.Out.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s");
        outcomes.AssertClean("weight files", WeightCases);
        Assert.That(outcomes.Refused, Is.GreaterThan(WeightCases / 3), "most mutations must be caught");
    }

    /// <summary>Truncated and bit-flipped copies of a saved warm state (<c>--warm-state FILE</c>): loaded, or refused with an input error.</summary>
    [Test]
    public void MutatedWarmStateFiles()
    {
        var model = Reference.TinyModel;
        var warmUp = model.CreateSession(StateMode.Stateful, threads: 1);
        warmUp.Run([["A", "warm", "up", "."]]);
        using var dir = new TempDir();
        string saved = dir.File("warm.hdf5");
        WarmStart.Save(warmUp.CarriedState!, saved);
        byte[] original = File.ReadAllBytes(saved);
        var rng = new Random(Seed + 3);
        var outcomes = new Outcomes();
        for (int c = 0; c < WarmStateCases; c++)
        {
            byte[] bytes = (byte[])original.Clone();
            int length = bytes.Length;
            if (rng.Next(3) == 0)
            {
                length = rng.Next(bytes.Length);
            }
            else
            {
                for (int i = 0; i < 1 + rng.Next(6); i++) bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8));
            }
            string path = dir.File($"m{c % 4}.hdf5");
            File.WriteAllBytes(path, bytes.AsSpan(0, length).ToArray());
            outcomes.Run($"warm-state case {c}", () =>
            {
                var state = WarmStart.Load(path, model.Options.Lstm);
                model.CreateSession(StateMode.Warm, state, threads: 1).Run([["x"]]);
            });
        }
        outcomes.AssertClean("warm-state files", WarmStateCases);
        Assert.That(outcomes.Refused, Is.GreaterThan(WarmStateCases / 5));
    }

    private static readonly int V2FlipCases = 300 * Scale;
    private static readonly int LinkGraphCases = 120 * Scale;
    private static readonly int WarmTypeCases = 120 * Scale;

    /// <summary>
    /// Bits flipped inside the checksummed metadata (superblock v2/v3, object headers v2 and their continuation
    /// blocks) of version-2 weight files, as <c>elmo make-model</c> (PureHDF) and h5py with <c>libver='latest'</c>
    /// write them: every copy is refused, or (a flip libhdf5 would also pass, e.g. in a gap) loads weights identical to
    /// the original, bit for bit. Never different weights.
    /// </summary>
    [TestCase("make-model")]
    [TestCase("h5py-latest")]
    public void BitFlipsInV2MetadataAreRejectedOrHarmless(string writer)
    {
        using var dir = new TempDir();
        string source = dir.File("source.hdf5");
        if (writer == "make-model")
        {
            WeightVariants.WriteModified(source, e => e);
        }
        else
        {
            H5py.Run("""
                import h5py, sys
                with h5py.File(sys.argv[1], 'r') as f, h5py.File(sys.argv[2], 'w', libver='latest') as g:
                    # created anew (h5py's copy would keep the source's version-1 object headers)
                    names = []
                    f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
                    for n in names:
                        g.create_dataset(n, data=f[n][()])
                """, Reference.FixtureWeights, source);
        }
        byte[] original = File.ReadAllBytes(source);
        var ranges = V2Metadata.ChecksummedRanges(original);
        Assert.That(ranges.Count, Is.GreaterThan(20), "one object header per group and dataset, and the superblock");
        var expected = ElmoWeights.Load(source, WeightVariants.FixtureOptions);
        var rng = new Random(Seed + 4);
        var outcomes = new Outcomes();
        var watch = Stopwatch.StartNew();
        for (int c = 0; c < V2FlipCases; c++)
        {
            byte[] bytes = (byte[])original.Clone();
            var (start, length) = ranges[rng.Next(ranges.Count)];
            var at = new List<int>();
            for (int i = 0, n = 1 + rng.Next(4); i < n; i++)
            {
                int pos = start + rng.Next(length);
                bytes[pos] ^= (byte)(1 << rng.Next(8));
                at.Add(pos);
            }
            string path = dir.File($"v{c % 4}.hdf5");
            File.WriteAllBytes(path, bytes);
            outcomes.Run($"{writer} case {c} (bits flipped at {string.Join(",", at)})", () =>
            {
                var loaded = ElmoWeights.Load(path, WeightVariants.FixtureOptions);
                if (WeightsComparer.FirstDifference(loaded, expected) is { } part) throw new InvalidOperationException($"loaded different weights ({part})");
            });
        }
        TestContext.Out.WriteLine($"{ranges.Count} checksummed ranges; {watch.Elapsed.TotalSeconds:F1} s");
        outcomes.AssertClean($"v2 metadata flips ({writer})", V2FlipCases);
        Assert.That(outcomes.Refused, Is.GreaterThan(V2FlipCases * 9 / 10), "nearly every flip must be caught by a checksum");
    }

    /// <summary>
    /// Random soft links (to groups, datasets, themselves, each other, nothing, through other links) added to the
    /// fixture weights: loading, comparing and reading as a warm state end in a result or one clear error, never a
    /// stack overflow or a hang; a file with a loop is always refused.
    /// </summary>
    [Test]
    public void RandomSoftLinkGraphs()
    {
        var rng = new Random(Seed + 5);
        var outcomes = new Outcomes();
        using var dir = new TempDir();
        var entries = WeightVariants.FixtureEntries();
        string[] targets = ["/CNN", "/CNN_proj", "CNN/W_cnn_0", "/RNN_0/RNN", "/l0", "/l1", "l2", "/l3/x", "/l0/l1", ".", "/", "/nothing", "l4/l0"];
        var watch = Stopwatch.StartNew();
        for (int c = 0; c < LinkGraphCases; c++)
        {
            var file = new PureHDF.H5File();
            var groups = new Dictionary<string, PureHDF.H5Group>();
            foreach (var e in entries)
            {
                var parts = e.Name.Split('/');
                PureHDF.H5Group g = file;
                for (int i = 0; i < parts.Length - 1; i++)
                {
                    if (!g.TryGetValue(parts[i], out var child))
                    {
                        child = new PureHDF.H5Group();
                        g[parts[i]] = child;
                    }
                    g = (PureHDF.H5Group)child;
                }
                g[parts[^1]] = new PureHDF.H5Dataset(e.Data, fileDims: e.Dims);
            }
            var links = new List<string>();
            for (int i = 0, n = 1 + rng.Next(5); i < n; i++)
            {
                string name = $"l{rng.Next(5)}";
                string target = targets[rng.Next(targets.Length)];
                PureHDF.H5Group parent = rng.Next(3) == 0 ? (PureHDF.H5Group)file["CNN"] : file;
                parent[name] = new PureHDF.H5SoftLink(target);
                links.Add($"{(parent == file ? "" : "CNN/")}{name} -> {target}");
            }
            string path = dir.File($"links{c % 4}.hdf5");
            file.Write(path);
            outcomes.Run($"links case {c} ({string.Join("; ", links)})", () =>
            {
                ElmoWeights.Load(path, WeightVariants.FixtureOptions);
                foreach (var _ in Hdf5Comparison.Compare(path, path)) { }
            });
        }
        TestContext.Out.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s");
        outcomes.AssertClean("soft-link graphs", LinkGraphCases);
        Assert.That(outcomes.Refused, Is.GreaterThan(LinkGraphCases / 10), "some graphs have loops");
        Assert.That(outcomes.Succeeded, Is.GreaterThan(LinkGraphCases / 10), "some graphs are harmless");
    }

    /// <summary>
    /// Warm states whose datasets are stored as other element types (integers of every size and sign, float16,
    /// float32, float64) or shapes: floats load as the same conversion weight files get, everything else is refused
    /// with its type named; integers are never read as float bit patterns.
    /// </summary>
    [Test]
    public void WarmStateTypeMutations()
    {
        var model = Reference.TinyModel;
        var o = model.Options.Lstm;
        var state = WarmStart.Compute(model, [["A", "warm", "up", "."]]);
        float[] hidden = state.Hidden.SelectMany(h => h.ToArray()).ToArray();
        float[] cell = state.Cell.SelectMany(h => h.ToArray()).ToArray();
        string[] types = ["float16", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"];
        var rng = new Random(Seed + 6);
        var outcomes = new Outcomes();
        using var dir = new TempDir();
        for (int c = 0; c < WarmTypeCases; c++)
        {
            string th = types[rng.Next(types.Length)], tc = types[rng.Next(types.Length)];
            bool wrongShape = rng.Next(8) == 0;
            string path = dir.File($"w{c % 4}.hdf5");
            ulong[] hd = [(ulong)o.Layers, 2, (ulong)o.ProjectionDim], cd = [(ulong)o.Layers, 2, (ulong)o.CellDim];
            if (wrongShape) hd = [(ulong)o.Layers * 2, (ulong)o.ProjectionDim];
            new PureHDF.H5File
            {
                ["hidden"] = new PureHDF.H5Dataset(As(hidden, th), fileDims: hd),
                ["cell"] = new PureHDF.H5Dataset(As(cell, tc), fileDims: cd),
            }.Write(path);
            outcomes.Run($"warm-state case {c} (hidden {th}, cell {tc}{(wrongShape ? ", hidden reshaped" : "")})", () =>
            {
                var loaded = WarmStart.Load(path, o);
                if (wrongShape || !th.StartsWith("float", StringComparison.Ordinal) || !tc.StartsWith("float", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException("loaded a state it should have refused");
                }
                float[] h = loaded.Hidden.SelectMany(x => x.ToArray()).ToArray(), k = loaded.Cell.SelectMany(x => x.ToArray()).ToArray();
                if (!h.SequenceEqual(Rounded(hidden, th)) || !k.SequenceEqual(Rounded(cell, tc))) throw new InvalidOperationException("loaded values differ from the stored ones");
            });
        }
        outcomes.AssertClean("warm-state element types", WarmTypeCases);
        Assert.That(outcomes.Succeeded, Is.GreaterThan(0));
        Assert.That(outcomes.Refused, Is.GreaterThan(WarmTypeCases / 2));
    }

    private static Array As(float[] v, string type) => type switch
    {
        "float16" => v.Select(x => (Half)x).ToArray(),
        "float32" => v,
        "float64" => v.Select(x => (double)x).ToArray(),
        "int8" => v.Select(x => (sbyte)(x * 100)).ToArray(),
        "uint8" => v.Select(x => (byte)Math.Abs(x * 100)).ToArray(),
        "int16" => v.Select(x => (short)(x * 100)).ToArray(),
        "uint16" => v.Select(x => (ushort)Math.Abs(x * 100)).ToArray(),
        "int32" => v.Select(x => (int)(x * 100)).ToArray(),
        "uint32" => v.Select(x => (uint)Math.Abs(x * 100)).ToArray(),
        "int64" => v.Select(x => (long)(x * 100)).ToArray(),
        _ => v.Select(x => (ulong)Math.Abs(x * 100)).ToArray(),
    };

    private static float[] Rounded(float[] v, string type) => type == "float16" ? v.Select(x => (float)(Half)x).ToArray() : v;

    /// <summary>Offsets of HDF5 v1 structures (B-tree nodes, local heaps, symbol table nodes) in the file.</summary>
    private static int[] MetadataOffsets(byte[] file)
    {
        var offsets = new List<int> { 0 };
        foreach (var sig in new[] { "TREE", "HEAP", "SNOD" }.Select(Encoding.ASCII.GetBytes))
        {
            for (int i = file.AsSpan().IndexOf(sig); i >= 0;)
            {
                offsets.Add(i);
                int next = file.AsSpan(i + 1).IndexOf(sig);
                i = next < 0 ? -1 : i + 1 + next;
            }
        }
        return offsets.ToArray();
    }

    // ---- options JSON -------------------------------------------------------------------------

    /// <summary>Field removals, type swaps, random values and character-level damage of the fixture options.</summary>
    [Test]
    public void MutatedOptions()
    {
        string original = File.ReadAllText(Reference.FixtureOptions);
        var rng = new Random(Seed + 1);
        var outcomes = new Outcomes();
        var watch = Stopwatch.StartNew();
        for (int c = 0; c < OptionsCases; c++)
        {
            string json = rng.Next(4) == 0 ? DamageText(original, rng) : MutateTree(original, rng, 1 + rng.Next(3));
            outcomes.Run($"options case {c}: {json.ReplaceLineEndings(" ")}", () =>
            {
                var options = ElmoOptions.Parse(json, "fuzz.json");
                // Options that parse either match the fixture weights or are refused by the loader.
                ElmoWeights.Load(Reference.FixtureWeights, options);
            });
        }
        TestContext.Out.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s");
        outcomes.AssertClean("options", OptionsCases);
        Assert.That(outcomes.RefusedBy.GetValueOrDefault(nameof(ElmoOptionsException)), Is.GreaterThan(OptionsCases / 3));
        Assert.That(outcomes.RefusedBy.GetValueOrDefault(nameof(ElmoWeightsException)), Is.GreaterThan(OptionsCases / 50), "valid options of another model must reach the weight checks");
    }

    private static string MutateTree(string json, Random rng, int mutations)
    {
        var root = JsonNode.Parse(json)!;
        for (int m = 0; m < mutations; m++)
        {
            var nodes = new List<(JsonNode Parent, object Key)>();
            Collect(root, nodes);
            var (parent, key) = nodes[rng.Next(nodes.Count)];
            bool remove = rng.Next(5) == 0;
            if (parent is JsonObject o)
            {
                if (remove) o.Remove((string)key);
                else o[(string)key] = RandomValue(rng);
            }
            else if (parent is JsonArray a)
            {
                if (remove) a.RemoveAt((int)key);
                else a[(int)key] = RandomValue(rng);
            }
        }
        return root.ToJsonString();
    }

    private static void Collect(JsonNode node, List<(JsonNode, object)> into)
    {
        if (node is JsonObject o)
        {
            foreach (var (k, v) in o.ToList())
            {
                into.Add((o, k));
                if (v is not null) Collect(v, into);
            }
        }
        else if (node is JsonArray a)
        {
            for (int i = 0; i < a.Count; i++)
            {
                into.Add((a, i));
                if (a[i] is { } v) Collect(v, into);
            }
        }
    }

    private static JsonNode? RandomValue(Random rng) => rng.Next(14) switch
    {
        0 => null,
        1 => JsonValue.Create(rng.Next(2) == 0),
        2 => JsonValue.Create("relu"),
        3 => JsonValue.Create("x" + rng.Next()),
        4 => JsonValue.Create(0),
        5 => JsonValue.Create(-rng.Next(1, 100)),
        6 => JsonValue.Create(rng.Next(1, 8)),
        7 => JsonValue.Create(rng.Next(1, 300)),
        8 => JsonValue.Create(new[] { int.MaxValue, 1 << 20, 1 << 16, 100_000 }[rng.Next(4)]),
        9 => JsonValue.Create(rng.NextDouble() * 10),
        10 => JsonValue.Create(1e300),
        11 => new JsonArray(JsonValue.Create(rng.Next(1, 6)), JsonValue.Create(rng.Next(-2, 70))),
        12 => new JsonObject { ["dim"] = rng.Next(-1, 20) },
        _ => JsonValue.Create(long.MaxValue),
    };

    private static string DamageText(string json, Random rng)
    {
        var sb = new StringBuilder(json);
        int edits = 1 + rng.Next(4);
        for (int e = 0; e < edits && sb.Length > 0; e++)
        {
            int at = rng.Next(sb.Length);
            switch (rng.Next(3))
            {
                case 0: sb.Remove(at, Math.Min(1 + rng.Next(10), sb.Length - at)); break;
                case 1: sb.Insert(at, "{}[],:\"0-9e.\\\u0000\uD800"[rng.Next(15)]); break;
                default: sb[at] = (char)rng.Next(0x20, 0x7F); break;
            }
        }
        return sb.ToString();
    }

    // ---- input lines --------------------------------------------------------------------------

    /// <summary>
    /// Random lines (all of Unicode, lone surrogates, control characters, huge tokens, broken and valid JSON) read as
    /// text and as JSON lines and embedded: only an <see cref="ElmoInputException"/> may come out.
    /// </summary>
    [Test]
    public void RandomInputLines()
    {
        var rng = new Random(Seed + 2);
        var outcomes = new Outcomes();
        var session = Reference.TinyModel.CreateSession(StateMode.Stateless, threads: 1);
        var watch = Stopwatch.StartNew();
        for (int c = 0; c < InputCases; c++)
        {
            int lines = 1 + rng.Next(4);
            var text = new StringBuilder();
            for (int l = 0; l < lines; l++) text.Append(rng.Next(3) == 0 ? RandomJsonLine(rng) : RandomLine(rng)).Append('\n');
            string input = text.ToString();
            var format = rng.Next(2) == 0 ? InputFormat.Text : InputFormat.JsonLines;
            bool skipBlank = rng.Next(2) == 0;
            outcomes.Run($"input case {c} ({format}): {Describe(input)}", () =>
            {
                var sentences = InputReader.ReadAll(new StringReader(input), format, "fuzz", skipBlank);
                var output = session.Run(sentences.Select(s => s.Tokens).ToArray()).WithoutBoundaries();
                for (int b = 0; b < sentences.Count; b++)
                {
                    if (output.Lengths[b] != sentences[b].Tokens.Count) throw new InvalidOperationException($"row {b} has {output.Lengths[b]} positions for {sentences[b].Tokens.Count} tokens");
                }
            });
        }
        TestContext.Out.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s");
        outcomes.AssertClean("input lines", InputCases);
        Assert.That(outcomes.Succeeded, Is.GreaterThan(InputCases / 4));
    }

    private static readonly string[] Pieces =
    [
        "the", "cat", ".", "<S>", "</S>", "naïve", "日本語", "\u0301", "\u200B", "\u200F", "\u202E", "\uFEFF", "\uFFFD", "\uFFFF",
        "\uD800", "\uDBFF", "\uDC00", "\uDFFF", "\uD83D\uDE00", "\uD83D", "\0", "\u0001", "\u001B", "\u007F", "\u0085", "\u001C",
        "\t", " ", "  ", "\u00A0", "\u2003", "\u3000", "\u2028", "\r", "\v", "\f", "[", "]", "\"", "\\", ",", "{", "}", "null",
    ];

    private static string RandomLine(Random rng)
    {
        var sb = new StringBuilder();
        int parts = rng.Next(0, 30);
        for (int i = 0; i < parts; i++)
        {
            switch (rng.Next(10))
            {
                case 0: sb.Append((char)rng.Next(0, 0x10000)); break;
                case 1: sb.Append(' '); break;
                case 2 when rng.Next(20) == 0: sb.Append(new string((char)rng.Next(0x21, 0x3000), rng.Next(1000, 60_000))); break;
                default: sb.Append(Pieces[rng.Next(Pieces.Length)]); break;
            }
        }
        return sb.ToString().Replace("\n", " ", StringComparison.Ordinal);
    }

    /// <summary>A JSON array of random strings, escaped as Python's json.dumps does (lone surrogates become \uXXXX), sometimes broken.</summary>
    private static string RandomJsonLine(Random rng)
    {
        var sb = new StringBuilder("[");
        int tokens = rng.Next(0, 12);
        for (int i = 0; i < tokens; i++)
        {
            if (i > 0) sb.Append(", ");
            if (rng.Next(15) == 0)
            {
                sb.Append(rng.Next(3) switch { 0 => "1", 1 => "null", _ => "[\"a\"]" });
                continue;
            }
            sb.Append('"');
            foreach (char ch in RandomLine(rng).Take(rng.Next(1, 20)))
            {
                if (ch < 0x20 || ch == '"' || ch == '\\' || char.IsSurrogate(ch) || ch > 0x7E) sb.Append($"\\u{(int)ch:x4}");
                else sb.Append(ch);
            }
            sb.Append('"');
        }
        sb.Append(']');
        string line = sb.ToString();
        return rng.Next(8) == 0 && line.Length > 1 ? line[..rng.Next(line.Length)] : line;
    }

    private static string Describe(string s) =>
        s.Length > 300 ? $"{s.Length} chars starting " + Escape(s[..300]) : Escape(s);

    private static string Escape(string s) => JsonSerializer.Serialize(s);
}
