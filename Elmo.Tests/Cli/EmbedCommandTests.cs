using Elmo.Cli;
using System.Text.Json;
using System.Text.RegularExpressions;
using Elmo.Core;
using Elmo.Tests.Support;
using PureHDF;

namespace Elmo.Tests.Cli;

/// <summary><c>elmo embed</c>: its output read back and checked against the API and the reference outputs.</summary>
public class EmbedCommandTests
{
    private static string Corpus(TempDir dir, IEnumerable<string[]> sentences, string name = "in.txt") =>
        dir.Write(name, string.Join("\n", sentences.Select(s => string.Join(' ', s))) + "\n");

    private static CliResult Embed(params string[] args)
    {
        var result = CliHarness.Run(["embed", .. args, .. CliHarness.FixtureModel]);
        return result;
    }

    [Test]
    public void WarmIsTheDefaultAndAllLayersEqualTheApiBitwise()
    {
        using var dir = new TempDir();
        var sentences = Reference.Sentences();
        string input = Corpus(dir, sentences), output = dir.File("out.hdf5");

        var result = Embed(input, output, "--all", "--batch-size", "3");

        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        Assert.That(result.Err, Does.Contain("warm (state after the built-in warm-up text"));
        var api = Reference.TinyModel.CreateSession(StateMode.Warm).Run(sentences.Select(s => (IReadOnlyList<string>)s).ToList());
        Assert.That(CliHarness.Names(output), Has.Length.EqualTo(sentences.Count + 1));
        for (int i = 0; i < sentences.Count; i++)
        {
            var (data, shape) = CliHarness.Read(output, i.ToString());
            Assert.That(shape, Is.EqualTo(new[] { 3, sentences[i].Length, 32 }), $"sentence {i} shape");
            Assert.That(data, Is.EqualTo(api.SentenceLayers(i)), $"sentence {i} differs from the API (warm results are batch-independent, bit for bit)");
        }
        var map = JsonSerializer.Deserialize<Dictionary<string, string>>(CliHarness.ReadString(output, "sentence_to_index"))!;
        Assert.That(map, Has.Count.EqualTo(sentences.Count));
        for (int i = 0; i < sentences.Count; i++) Assert.That(map[string.Join(' ', sentences[i])], Is.EqualTo(i.ToString()));
    }

    [Test]
    public void TheBuiltInWarmStateIsComputedOnceAndThenReadFromTheCache()
    {
        using var dir = new TempDir();
        var sentences = Reference.Sentences().Take(3).ToList();
        string input = Corpus(dir, sentences), cache = dir.File("cache");
        string entry = WarmStateCache.PathFor(Reference.TinyModel, Reference.FixtureWeights, cache);

        var first = Embed(input, dir.File("a.hdf5"), "--all", "--cache-dir", cache);
        var second = Embed(input, dir.File("b.hdf5"), "--all", "--cache-dir", cache);
        File.WriteAllText(entry, "damaged");
        var third = Embed(input, dir.File("c.hdf5"), "--all", "--cache-dir", cache);

        Assert.That(first.Exit + second.Exit + third.Exit, Is.EqualTo(0), first + "\n" + second + "\n" + third);
        Assert.That(first.Err, Does.Contain("warm (state after the built-in warm-up text)"));
        Assert.That(second.Err, Does.Contain("warm (state after the built-in warm-up text, from the cache)"));
        Assert.That(third.Err, Does.Not.Contain("from the cache"), "a damaged entry is recomputed");
        Assert.That(WarmStart.Load(entry, Reference.TinyModel.Options.Lstm).GetCell(0, 1, 1), Is.EqualTo(Reference.TinyModel.BuiltInWarmState.GetCell(0, 1, 1)), "and saved again");
        var api = Reference.TinyModel.CreateSession(StateMode.Warm).Run(sentences.Select(s => (IReadOnlyList<string>)s).ToList());
        foreach (var file in new[] { "a.hdf5", "b.hdf5", "c.hdf5" })
        {
            for (int i = 0; i < sentences.Count; i++) Assert.That(CliHarness.Read(dir.File(file), i.ToString()).Data, Is.EqualTo(api.SentenceLayers(i)), $"{file} {i}");
        }
    }

    [Test]
    public void TheWarmStateCacheKeyFollowsTheWeightFileAndTheArchitecture()
    {
        using var dir = new TempDir();
        string cache = dir.File("cache"), copy = dir.File("weights.hdf5");
        File.Copy(Reference.FixtureWeights, copy);
        string key = WarmStateCache.PathFor(Reference.TinyModel, copy, cache);
        Assert.That(WarmStateCache.PathFor(Reference.TinyModel, copy, cache), Is.EqualTo(key), "stable");
        Assert.That(Path.GetFileName(key), Does.Match("^[0-9a-f]{32}\\.hdf5$"));

        var bytes = File.ReadAllBytes(copy);
        bytes[^1] ^= 1;
        File.WriteAllBytes(copy, bytes);
        Assert.That(WarmStateCache.PathFor(Reference.TinyModel, copy, cache), Is.Not.EqualTo(key), "last byte of the file changed");
        bytes[^1] ^= 1;
        bytes[0] ^= 1;
        File.WriteAllBytes(copy, bytes);
        Assert.That(WarmStateCache.PathFor(Reference.TinyModel, copy, cache), Is.Not.EqualTo(key), "first byte of the file changed");
        bytes[0] ^= 1;
        File.WriteAllBytes(copy, bytes);
        Assert.That(WarmStateCache.PathFor(Reference.TinyModel, copy, cache), Is.EqualTo(key), "restored");

        var other = new ElmoModel(RandomWeights.Create(ModelPresets.Demo, 1));
        Assert.That(WarmStateCache.PathFor(other, copy, cache), Is.Not.EqualTo(key), "another architecture");
    }

    [Test]
    public void StatefulBatchesOfThreeReproduceTheOriginalTensorFlowBiLm()
    {
        // bilm-tf's fixture: batch i = [sentences[0][i], sentences[1][i], sentences[2][i]], one stateful biLM.
        using var dir = new TempDir();
        var groups = Reference.SentenceGroups();
        var interleaved = Enumerable.Range(0, 10).SelectMany(i => Enumerable.Range(0, 3).Select(k => groups[k][i])).ToList();
        string input = Corpus(dir, interleaved), output = dir.File("out.hdf5");

        var result = Embed(input, output, "--top", "--stateful", "--batch-size", "3");

        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        for (int i = 0; i < 10; i++)
        {
            for (int k = 0; k < 3; k++)
            {
                var (actual, shape) = CliHarness.Read(output, (3 * i + k).ToString());
                var (expected, refShape) = Reference.ReadDataset(Reference.File_($"bilm-tf-fixture/lm_embeddings_{k}.hdf5"), i.ToString());
                int n = refShape[1], half = refShape[2];
                Assert.That(shape, Is.EqualTo(new[] { n, 2 * half }));
                var want = new float[n * 2 * half];
                for (int t = 0; t < n; t++)
                {
                    expected.AsSpan(t * half, half).CopyTo(want.AsSpan(t * 2 * half));
                    expected.AsSpan((n + t) * half, half).CopyTo(want.AsSpan(t * 2 * half + half));
                }
                Close.AssertAll(actual, want, 1e-6, 1e-5, $"batch {i}, row {k}");
            }
        }
    }

    [TestCase("--stateful", "layers_batch4_stateful.hdf5")]
    [TestCase("--stateless", "layers_batch4_stateless.hdf5")]
    public void AllLayersMatchAllenNlpAccordingToElmoCompare(string mode, string reference)
    {
        using var dir = new TempDir();
        string input = Corpus(dir, Reference.Sentences()), output = dir.File("out.hdf5");

        var embed = Embed(input, output, "--all", mode, "--batch-size", "4", "--forget-sentences", "--quiet");
        Assert.That(embed.Exit, Is.EqualTo(0), embed.ToString());
        Assert.That(embed.Err, Is.Empty, "--quiet");

        var compare = CliHarness.Run("compare", output, Reference.File_($"allennlp-tiny/{reference}"));
        Assert.That(compare.Exit, Is.EqualTo(0), compare.ToString());
        Assert.That(compare.Out, Does.Contain("MATCH: all 30 dataset(s) agree"));
    }

    [Test]
    public void TopAverageAndMixEqualTheApi()
    {
        using var dir = new TempDir();
        var sentences = Reference.Sentences().Take(11).ToList();
        string input = Corpus(dir, sentences);
        var batch = sentences.Select(s => (IReadOnlyList<string>)s).ToList();
        var api = Reference.TinyModel.CreateSession(StateMode.Stateless).Run(batch);
        float[] weights = [0.5f, -1f, 2f];
        var mixed = new ScalarMix(3, weights, 0.75f).Mix(api);

        Assert.That(Embed(input, dir.File("top.hdf5"), "--top", "--stateless", "--batch-size", "4").Exit, Is.EqualTo(0));
        Assert.That(Embed(input, dir.File("avg.hdf5"), "--average", "--stateless", "--batch-size", "4").Exit, Is.EqualTo(0));
        Assert.That(Embed(input, dir.File("mix.hdf5"), "--mix", "0.5,-1,2", "--gamma", "0.75", "--stateless", "--batch-size", "4").Exit, Is.EqualTo(0));
        for (int i = 0; i < sentences.Count; i++)
        {
            int n = sentences[i].Length;
            var all = api.SentenceLayers(i);
            var (top, topShape) = CliHarness.Read(dir.File("top.hdf5"), i.ToString());
            Assert.That(topShape, Is.EqualTo(new[] { n, 32 }));
            Close.AssertAll(top, all.AsSpan(2 * n * 32, n * 32), 1e-6, 0, $"top {i}");

            var average = new float[n * 32];
            for (int j = 0; j < average.Length; j++) average[j] = (all[j] + all[n * 32 + j] + all[2 * n * 32 + j]) / 3;
            Close.AssertAll(CliHarness.Read(dir.File("avg.hdf5"), i.ToString()).Data, average, 1e-6, 0, $"average {i}");

            var expectedMix = mixed.AsSpan((i * api.Timesteps + 1) * 32, n * 32);
            Close.AssertAll(CliHarness.Read(dir.File("mix.hdf5"), i.ToString()).Data, expectedMix, 1e-6, 0, $"mix {i}");
        }
    }

    [Test]
    public void LayerNormalisedMixIsComputedPerBatchInInputOrder()
    {
        using var dir = new TempDir();
        var sentences = Reference.Sentences().Take(10).ToList();
        string input = Corpus(dir, sentences), output = dir.File("mix.hdf5");

        var result = Embed(input, output, "--mix", "1,0,-1", "--gamma", "2", "--layer-norm", "--batch-size", "4");

        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        var session = Reference.TinyModel.CreateSession(StateMode.Warm);
        var mix = new ScalarMix(3, [1f, 0f, -1f], 2f, layerNorm: true);
        for (int start = 0; start < sentences.Count; start += 4)
        {
            var batch = sentences.Skip(start).Take(4).Select(s => (IReadOnlyList<string>)s).ToList();
            var output2 = session.Run(batch);
            var mixed = mix.Mix(output2);
            for (int b = 0; b < batch.Count; b++)
            {
                int n = batch[b].Count;
                Close.AssertAll(CliHarness.Read(output, (start + b).ToString()).Data, mixed.AsSpan((b * output2.Timesteps + 1) * 32, n * 32), 1e-6, 0, $"sentence {start + b}");
            }
        }
    }

    [Test]
    public void SentenceToIndexIsWhatPythonsJsonDumpsWrites()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", "  Crème \"brûlée\"  costs\t5 €  \nthe cat\nback\\slash 😀\nthe cat\n");
        string output = dir.File("out.hdf5");

        var result = Embed(input, output, "--top");

        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        // Keys are the stripped lines (inner white space kept); a repeated sentence maps to its last index; ensure_ascii escapes.
        Assert.That(CliHarness.ReadString(output, "sentence_to_index"), Is.EqualTo(
            "{\"Cr\\u00e8me \\\"br\\u00fbl\\u00e9e\\\"  costs\\t5 \\u20ac\": \"0\", \"the cat\": \"3\", \"back\\\\slash \\ud83d\\ude00\": \"2\"}"));
        Assert.That(CliHarness.Read(output, "0").Shape, Is.EqualTo(new[] { 5, 32 }), "tokens split on any white space");
    }

    [Test]
    public void UseSentenceKeysKeysDatasetsBySentenceAndWritesNoMap()
    {
        using var dir = new TempDir();
        var sentences = Reference.Sentences().Where(s => !s.Contains("/")).Take(5).ToList();
        string input = Corpus(dir, sentences), output = dir.File("out.hdf5");

        var result = Embed(input, output, "--top", "--use-sentence-keys");

        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        var names = CliHarness.Names(output);
        Assert.That(names, Is.EquivalentTo(sentences.Select(s => string.Join(' ', s))), "keys are the sentences; no sentence_to_index, as in AllenNLP");
        var api = Reference.TinyModel.CreateSession(StateMode.Warm).Run(sentences.Select(s => (IReadOnlyList<string>)s).ToList());
        for (int i = 0; i < sentences.Count; i++)
        {
            int n = sentences[i].Length;
            Assert.That(CliHarness.Read(output, string.Join(' ', sentences[i])).Data, Is.EqualTo(api.SentenceLayers(i).AsSpan(2 * n * 32, n * 32).ToArray()));
        }
    }

    [Test]
    public void DuplicateSentenceWithSentenceKeysFailsNamingBothLinesAndWritesNothing()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", "a b\nc d\ne f\n  c d \n");
        string output = dir.File("out.hdf5");

        var result = Embed(input, output, "--all", "--use-sentence-keys");

        Assert.That(result.Exit, Is.EqualTo(1), result.ToString());
        Assert.That(result.Err, Does.Contain("line 4 repeats the sentence of line 2"));
        Assert.That(result.Err.Trim().Split('\n').Last(), Does.StartWith("elmo: ").And.Not.Contain("   at "));
        Assert.That(File.Exists(output), Is.False);
        Assert.That(dir.Others("in.txt"), Is.Empty, "no temporary file left");
    }

    [Test]
    public void SentenceKeyThatCannotBeADatasetNameIsRefused()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", "a b\n5 / 7\n");
        var result = Embed(input, dir.File("out.hdf5"), "--all", "--use-sentence-keys");
        var empty = Embed(dir.Write("in.jsonl", "[\"a\"]\n[]\n"), dir.File("out.hdf5"), "--all", "--use-sentence-keys");
        Assert.That(result.Exit, Is.EqualTo(1), result.ToString());
        Assert.That(result.Err, Does.Contain("line 2").And.Contain("cannot be an HDF5 dataset name"));
        Assert.That(empty.Exit, Is.EqualTo(1), empty.ToString());
        Assert.That(empty.Err, Does.Contain("line 2").And.Contain("cannot be an HDF5 dataset name"));
    }

    [Test]
    public void ForgetSentencesOmitsTheMap()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", "a b\nc\n"), output = dir.File("out.hdf5");
        Assert.That(Embed(input, output, "--average", "--forget-sentences").Exit, Is.EqualTo(0));
        Assert.That(CliHarness.Names(output), Is.EquivalentTo(new[] { "0", "1" }));
    }

    [Test]
    public void BlankLinesAreAllListedAndAnExistingOutputIsKept()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", "a b\n\nc\n   \nd\n");
        string output = dir.Write("out.hdf5", "previous contents");

        var result = Embed(input, output, "--all");

        Assert.That(result.Exit, Is.EqualTo(1), result.ToString());
        Assert.That(result.Err, Does.Contain("2 blank line(s): line 2, 4").And.Contain("--skip-blank"));
        Assert.That(File.ReadAllText(output), Is.EqualTo("previous contents"));
        Assert.That(dir.Others("in.txt", "out.hdf5"), Is.Empty);
    }

    [Test]
    public void SkipBlankKeysTheKeptSentencesConsecutively()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", "a b\n\nc\n   \nd e f\n"), output = dir.File("out.hdf5");

        var result = Embed(input, output, "--top", "--skip-blank");

        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        Assert.That(CliHarness.Read(output, "2").Shape, Is.EqualTo(new[] { 3, 32 }));
        Assert.That(CliHarness.ReadString(output, "sentence_to_index"), Is.EqualTo("{\"a b\": \"0\", \"c\": \"1\", \"d e f\": \"2\"}"));
    }

    [Test]
    public void StandardInputWorksForTextAndJsonLines()
    {
        using var dir = new TempDir();
        var sentences = Reference.Sentences().Take(4).ToList();
        string text = string.Join("\n", sentences.Select(s => string.Join(' ', s))) + "\n";
        string jsonl = string.Join("\n", sentences.Select(s => JsonSerializer.Serialize(s))) + "\n[]\n";

        var fromText = CliHarness.RunWithStdin(text, ["embed", "-", dir.File("text.hdf5"), "--all", .. CliHarness.FixtureModel]);
        var fromJson = CliHarness.RunWithStdin(jsonl, ["embed", "-", dir.File("json.hdf5"), "--all", "--input-format", "jsonl", .. CliHarness.FixtureModel]);

        Assert.That(fromText.Exit, Is.EqualTo(0), fromText.ToString());
        Assert.That(fromJson.Exit, Is.EqualTo(0), fromJson.ToString());
        Assert.That(fromText.Err, Does.Contain("standard input: 4 sentences"));
        var api = Reference.TinyModel.CreateSession(StateMode.Warm).Run(sentences.Select(s => (IReadOnlyList<string>)s).ToList());
        for (int i = 0; i < 4; i++)
        {
            Assert.That(CliHarness.Read(dir.File("text.hdf5"), i.ToString()).Data, Is.EqualTo(api.SentenceLayers(i)));
            Assert.That(CliHarness.Read(dir.File("json.hdf5"), i.ToString()).Data, Is.EqualTo(api.SentenceLayers(i)));
        }
        Assert.That(CliHarness.Read(dir.File("json.hdf5"), "4").Shape, Is.EqualTo(new[] { 3, 0, 32 }), "[] is an empty sentence");
        Assert.That(Directory.GetFiles(Path.GetTempPath(), $"elmo-input.{Environment.ProcessId}.*"), Is.Empty, "the spooled input is deleted");
    }

    [Test]
    public void BadJsonLineIsNamed()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.jsonl", "[\"a\"]\n[\"b\", 3]\n");
        var result = Embed(input, dir.File("out.hdf5"), "--all");
        Assert.That(result.Exit, Is.EqualTo(1));
        Assert.That(result.Err, Does.Contain("line 2: token 1 is a JSON number"));
    }

    [Test]
    public void JsonLinesAcceptEscapedLoneSurrogatesAsPythonDoes()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.jsonl", "[\"x\\ud800y\", \"ok\"]\n"), output = dir.File("out.hdf5");
        var result = Embed(input, output, "--all");
        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        var api = Reference.TinyModel.CreateSession(StateMode.Warm).Run([["x\ud800y", "ok"]]);
        Assert.That(CliHarness.Read(output, "0").Data, Is.EqualTo(api.SentenceLayers(0)));
    }

    [Test]
    public void CancelledRunLeavesNoOutputAndKeepsTheExistingFile()
    {
        using var dir = new TempDir();
        string input = Corpus(dir, Reference.Sentences());
        string output = dir.Write("out.hdf5", "previous contents");
        using var cancel = new CancellationTokenSource();

        // Cancel as soon as the first batch is reported (a progress line "N/30 sentences").
        var result = CliHarness.RunWith(null, cancel.Token, inner => new CancelOnWrite(cancel, "/30 sentences"),
            ["embed", input, output, "--all", "--stateful", "--batch-size", "2", .. CliHarness.FixtureModel]);

        Assert.That(result.Exit, Is.EqualTo(ElmoCli.Interrupted), result.ToString());
        Assert.That(result.Err, Does.Contain("cancelled; no output was written"));
        Assert.That(Regex.Matches(result.Err, "/30 sentences").Count, Is.EqualTo(1), "stopped after the first batch");
        Assert.That(File.ReadAllText(output), Is.EqualTo("previous contents"));
        Assert.That(dir.Others("in.txt", "out.hdf5"), Is.Empty, "no temporary file left");
    }

    [Test]
    public void WarmUpFileAndWarmStateFileGiveTheApisWarmVectors()
    {
        using var dir = new TempDir();
        var warmUp = Reference.SentenceGroups()[2].Take(4).ToList();
        string warmUpPath = Corpus(dir, warmUp, "warm.txt");
        var sentences = Reference.Sentences().Take(6).ToList();
        string input = Corpus(dir, sentences);
        var state = WarmStart.Compute(Reference.TinyModel, warmUp.Select(s => (IReadOnlyList<string>)s));
        string statePath = dir.File("state.hdf5");

        var fromText = Embed(input, dir.File("a.hdf5"), "--all", "--warm-up", warmUpPath, "--batch-size", "4");
        var saved = CliHarness.Run(["warm-state", statePath, "--warm-up", warmUpPath, .. CliHarness.FixtureModel]);
        var fromState = Embed(input, dir.File("b.hdf5"), "--all", "--warm-state", statePath);

        Assert.That(fromText.Exit, Is.EqualTo(0), fromText.ToString());
        Assert.That(saved.Exit, Is.EqualTo(0), saved.ToString());
        Assert.That(fromState.Exit, Is.EqualTo(0), fromState.ToString());
        Assert.That(fromText.Err, Does.Contain("warm (state after 4 sentences of"));
        var api = Reference.TinyModel.CreateSession(StateMode.Warm, state).Run(sentences.Select(s => (IReadOnlyList<string>)s).ToList());
        for (int i = 0; i < sentences.Count; i++)
        {
            Assert.That(CliHarness.Read(dir.File("a.hdf5"), i.ToString()).Data, Is.EqualTo(api.SentenceLayers(i)), $"--warm-up, sentence {i}");
            Assert.That(CliHarness.Read(dir.File("b.hdf5"), i.ToString()).Data, Is.EqualTo(api.SentenceLayers(i)), $"--warm-state, sentence {i}");
        }
    }

    [TestCase("--all", "--top")]
    [TestCase("--all", "--stateless", "--stateful")]
    [TestCase("--all", "--warm", "--stateful")]
    [TestCase("--all", "--stateless", "--warm-state", "x.hdf5")]
    [TestCase("--all", "--batch-size", "0")]
    [TestCase("--all", "--threads", "0")]
    [TestCase("--all", "--gamma", "2")]
    [TestCase("--mix", "1,2")]
    [TestCase("--mix", "1,x,2")]
    [TestCase("--all", "--no-such-flag")]
    [TestCase("--all", "--input-format", "csv")]
    [TestCase("--all", "--use-sentence-keys", "--forget-sentences")]
    [TestCase()]
    public void UsageErrorsExitWithTwo(params string[] flags)
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", "a b\n");
        var result = Embed([input, dir.File("out.hdf5"), .. flags]);
        Assert.That(result.Exit, Is.EqualTo(2), result.ToString());
        Assert.That(result.Err, Does.StartWith("elmo: ").And.Not.Contain("   at "));
        Assert.That(File.Exists(dir.File("out.hdf5")), Is.False);
    }

    [Test]
    public void AnUnwritableOutputOrAMissingWarmUpFileFailsBeforeTheModelIsLoaded()
    {
        using var dir = new TempDir();
        string input = dir.Write("in.txt", "a b\n");
        // --model large would be a usage error (exit 2) if the model were resolved first.
        var noDir = CliHarness.Run("embed", input, Path.Combine(dir.Path, "missing", "out.hdf5"), "--all", "--model", "large");
        var isDir = CliHarness.Run("embed", input, dir.Path, "--all", "--model", "large");
        var noWarmUp = CliHarness.Run("embed", input, dir.File("out.hdf5"), "--all", "--warm-up", dir.File("none.txt"), "--model", "large");
        Assert.That(noDir.Exit, Is.EqualTo(1), noDir.ToString());
        Assert.That(noDir.Err, Does.Contain("does not exist"));
        Assert.That(isDir.Exit, Is.EqualTo(1), isDir.ToString());
        Assert.That(isDir.Err, Does.Contain("it is a directory"));
        Assert.That(noWarmUp.Exit, Is.EqualTo(1), noWarmUp.ToString());
        Assert.That(noWarmUp.Err, Does.Contain("--warm-up: file"));
    }

    [Test]
    public void NoModelIsAUsageError()
    {
        using var dir = new TempDir();
        var result = CliHarness.Run("embed", dir.Write("in.txt", "a\n"), dir.File("o.hdf5"), "--all");
        Assert.That(result.Exit, Is.EqualTo(2));
        Assert.That(result.Err, Does.Contain("A model is needed"));
    }

    [Test]
    public void MissingInputIsOneLineAndVerboseAddsTheStackTrace()
    {
        using var dir = new TempDir();
        string missing = dir.File("nope.txt");
        var plain = Embed(missing, dir.File("out.hdf5"), "--all");
        var verbose = Embed(missing, dir.File("out.hdf5"), "--all", "--verbose");

        Assert.That(plain.Exit, Is.EqualTo(1));
        Assert.That(plain.Err.TrimEnd().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(plain.Err, Does.Contain($"Input file '{missing}' does not exist."));
        Assert.That(verbose.Exit, Is.EqualTo(1));
        Assert.That(verbose.Err, Does.Contain("   at "), "stack trace with --verbose");
    }

    [Test]
    public void ProgressLinesAndSummaryOnStderrAndQuietSilencesThem()
    {
        using var dir = new TempDir();
        string input = Corpus(dir, Reference.Sentences().Take(5));

        var loud = Embed(input, dir.File("a.hdf5"), "--top", "--batch-size", "2");
        var quiet = Embed(input, dir.File("b.hdf5"), "--top", "--batch-size", "2", "--quiet");

        Assert.That(loud.Exit, Is.EqualTo(0));
        Assert.That(loud.Out, Is.Empty, "stdout stays clean");
        Assert.That(loud.Err, Does.Contain("5 sentences,").And.Contain("2/5 sentences").And.Contain("tokens/s, ETA"));
        Assert.That(loud.Err.TrimEnd().Split('\n').Last(), Does.Match(@"^elmo: embedded 5 sentences, \d+ tokens in \d+\.\d\d s \(\d+ tokens/s\) -> "));
        Assert.That(quiet.Exit, Is.EqualTo(0));
        Assert.That(quiet.Err, Is.Empty);
    }

    [Test]
    public void DemoModelSaysItHasRandomWeights()
    {
        using var dir = new TempDir();
        var result = CliHarness.Run("embed", dir.Write("in.txt", "Hello world .\n"), dir.File("out.hdf5"), "--model", "demo", "--all", "--quiet");
        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        Assert.That(result.Err, Does.Contain("RANDOM weights"));
        Assert.That(CliHarness.Read(dir.File("out.hdf5"), "0").Shape, Is.EqualTo(new[] { 3, 3, 128 }));
    }

    [Test]
    public void AllenNlpFlagNamesAreAccepted()
    {
        using var dir = new TempDir();
        var result = CliHarness.Run("embed", dir.Write("in.txt", "a b\n"), dir.File("out.hdf5"), "--all",
            "--options-file", Reference.FixtureOptions, "--weight-file", Reference.FixtureWeights, "--cuda-device", "0", "--file-friendly-logging", "--vocab-path", "v.txt");
        Assert.That(result.Exit, Is.EqualTo(0), result.ToString());
        Assert.That(result.Err, Does.Contain("no GPU support; running on the CPU").And.Contain("--vocab-path is ignored"));
    }

    [Test]
    public void OutputIsPlainFloat32DatasetsAndAVariableLengthStringMap()
    {
        using var dir = new TempDir();
        string output = dir.File("out.hdf5");
        Assert.That(Embed(Corpus(dir, Reference.Sentences().Take(3)), output, "--all", "--quiet").Exit, Is.EqualTo(0));
        using var f = H5File.OpenRead(output);
        var ds = f.Dataset("1");
        Assert.That(ds.Type.Class, Is.EqualTo(H5DataTypeClass.FloatingPoint));
        Assert.That(ds.Type.Size, Is.EqualTo(4));
        Assert.That(ds.Layout.Class, Is.EqualTo(H5DataLayoutClass.Contiguous).Or.EqualTo(H5DataLayoutClass.Compact));
        var map = f.Dataset("sentence_to_index");
        Assert.That(map.Space.Dimensions, Is.EqualTo(new ulong[] { 1 }));
        Assert.That(map.Type.Class, Is.EqualTo(H5DataTypeClass.VariableLength));
    }

    [Test]
    public void H5pyReadsTheOutputAsAllenNlpUsersDo()
    {
        string python = "/usr/bin/python3";
        if (!File.Exists(python) || Python(python, "import h5py").Exit != 0)
        {
            Assert.Ignore("h5py is not installed (Debian: apt-get install python3-h5py); the PureHDF read-back tests cover the format.");
        }
        using var dir = new TempDir();
        var sentences = Reference.Sentences().Take(3).ToList();
        string output = dir.File("out.hdf5");
        Assert.That(Embed(Corpus(dir, sentences), output, "--top", "--quiet").Exit, Is.EqualTo(0));
        var (exit, text) = Python(python, $$"""
            import h5py, json
            f = h5py.File({{JsonSerializer.Serialize(output)}}, "r")
            m = json.loads(f["sentence_to_index"][0])
            print(len(m), sorted(f.keys()), f["0"].shape, f["0"].dtype, float(f["2"][0, 0]))
            """);
        Assert.That(exit, Is.EqualTo(0), text);
        var (data, _) = CliHarness.Read(output, "2");
        Assert.That(text.Trim(), Does.StartWith($"3 ['0', '1', '2', 'sentence_to_index'] ({sentences[0].Length}, 32) float32 "));
        Assert.That(double.Parse(text.Trim().Split(' ').Last(), System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(data[0]));
    }

    private static (int Exit, string Text) Python(string python, string script)
    {
        var info = new System.Diagnostics.ProcessStartInfo(python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = System.Diagnostics.Process.Start(info)!;
        p.StandardInput.Write(script);
        p.StandardInput.Close();
        string text = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, text);
    }

    /// <summary>An stderr that cancels a token the first time a line containing <paramref name="marker"/> is written.</summary>
    private sealed class CancelOnWrite(CancellationTokenSource cancel, string marker) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is not null && value.Contains(marker, StringComparison.Ordinal)) cancel.Cancel();
        }
    }
}
