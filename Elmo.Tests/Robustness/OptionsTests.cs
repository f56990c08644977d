using System.Text.Json.Nodes;
using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Robustness;

/// <summary>Bad options: each fails with an <see cref="ElmoOptionsException"/> naming the source and the field.</summary>
[TestFixture]
public class OptionsTests
{
    private const string Source = "test-options.json";

    private static JsonObject Fixture() => JsonNode.Parse(File.ReadAllText(Reference.FixtureOptions))!.AsObject();

    /// <summary>The fixture options with the node at <paramref name="path"/> (dotted) replaced, or removed when <paramref name="value"/> is "REMOVE".</summary>
    private static string With(string path, string? value)
    {
        var root = Fixture();
        var parts = path.Split('.');
        JsonObject parent = root;
        foreach (var p in parts[..^1]) parent = parent[p]!.AsObject();
        if (value == "REMOVE")
        {
            Assert.That(parent.Remove(parts[^1]), Is.True, path);
        }
        else
        {
            parent[parts[^1]] = value is null ? null : JsonNode.Parse(value);
        }
        return root.ToJsonString();
    }

    private static ElmoOptionsException Fails(string json, string? field)
    {
        var e = Assert.Throws<ElmoOptionsException>(() => ElmoOptions.Parse(json, Source))!;
        Assert.That(e.FilePath, Is.EqualTo(Source));
        Assert.That(e.Message, Does.Contain(Source));
        if (field is not null)
        {
            Assert.That(e.Field, Is.EqualTo(field), e.Message);
            Assert.That(e.Message, Does.Contain(field));
        }
        return e;
    }

    [Test]
    public void FixtureParses()
    {
        var o = ElmoOptions.Parse(Fixture().ToJsonString(), Source);
        Assert.That(o.Lstm.CellDim, Is.EqualTo(64));
        Assert.That(o.CharCnn.FilterCount, Is.EqualTo(124));
        Assert.That(ElmoOptions.Parse(o.ToJson()), Is.EqualTo(o).Using<ElmoOptions>((a, b) => a.ToJson() == b.ToJson()));
    }

    [Test]
    public void MissingFileAndDirectoryAreNamed()
    {
        using var dir = new TempDir();
        string missing = dir.File("options.json");
        var e = Assert.Throws<ElmoOptionsException>(() => ElmoOptions.Load(missing))!;
        Assert.That(e.FilePath, Is.EqualTo(missing));
        e = Assert.Throws<ElmoOptionsException>(() => ElmoOptions.Load(dir.Path))!;
        Assert.That(e.FilePath, Is.EqualTo(dir.Path));
    }

    [TestCase("")]
    [TestCase("{")]
    [TestCase("not json")]
    [TestCase("{\"lstm\": {\"dim\": 1,}, }} trailing")]
    [TestCase("\u0000\u0001")]
    public void InvalidJsonIsRefused(string text)
    {
        var e = Fails(text, null);
        Assert.That(e.Message, Does.Contain("not valid JSON"));
    }

    [TestCase("[1, 2]", "(root)")]
    [TestCase("42", "(root)")]
    [TestCase("null", "(root)")]
    [TestCase("{}", "lstm")]
    public void WrongRootIsRefused(string text, string field) => Fails(text, field);

    /// <summary>Issue 17.17: an escaped lone surrogate was an internal InvalidOperationException.</summary>
    [Test]
    public void AnEscapedLoneSurrogateInAFieldIsNamedAndInAnUnknownKeyIgnoredAsPythonDoes()
    {
        string text = File.ReadAllText(Reference.FixtureOptions);
        var e = Fails(text.Replace("\"relu\"", "\"\\ud800\"", StringComparison.Ordinal), "char_cnn.activation");
        Assert.That(e.Message, Does.Contain("unknown activation"));
        Fails(text.Replace("\"dim\": 64", "\"dim\": \"\\udc00x\"", StringComparison.Ordinal), "lstm.dim");

        // json.loads accepts these, so AllenNLP loads such a file: so do we.
        var unknownKeys = text.Replace("\"lstm\": {", "\"\\ud800\": [\"\\udfff\"], \"lstm\": { \"x\\ud83d\": 1,", StringComparison.Ordinal);
        Assert.That(unknownKeys, Does.Contain("\\ud800"));
        Assert.That(ElmoOptions.Parse(unknownKeys, Source).ToJson(), Is.EqualTo(ElmoOptions.Parse(text, Source).ToJson()));
        // A proper pair, and an escaped backslash before "u", are left alone.
        Assert.That(ElmoOptions.Parse(text.Replace("\"lstm\": {", "\"\\ud83d\\ude00\\\\ud800\": 1, \"lstm\": {", StringComparison.Ordinal), Source).Lstm.CellDim, Is.EqualTo(64));
    }

    /// <summary>Issue 17.17: a 1 GB file or /dev/zero given as options ran out of memory.</summary>
    [Test]
    public void AnOversizedOptionsFileIsRefusedBeforeItIsRead()
    {
        using var dir = new TempDir();
        string big = dir.File("big.json");
        using (var f = new FileStream(big, FileMode.CreateNew)) f.SetLength(1L << 30); // sparse: takes no disk
        var e = Assert.Throws<ElmoOptionsException>(() => ElmoOptions.Load(big))!;
        Assert.That(e.Message, Is.EqualTo($"Options file '{big}' is larger than 1 MiB (1073741824 bytes); an options JSON is a few hundred bytes: is this the options file?"));
        Assert.That(e.FilePath, Is.EqualTo(big));

        if (File.Exists("/dev/zero"))
        {
            e = Assert.Throws<ElmoOptionsException>(() => ElmoOptions.Load("/dev/zero"))!;
            Assert.That(e.Message, Does.Contain("holds more than 1 MiB"));
        }
        string padded = dir.File("padded.json");
        File.WriteAllText(padded, File.ReadAllText(Reference.FixtureOptions) + new string(' ', 100_000));
        Assert.That(ElmoOptions.Load(padded).Lstm.CellDim, Is.EqualTo(64), "white space is fine below the limit");
    }

    [Test]
    public void BinaryFileIsRefused()
    {
        string weights = Reference.FixtureWeights; // outside Assert.Throws, so that missing reference data skips the test
        var e = Assert.Throws<ElmoOptionsException>(() => ElmoOptions.Load(weights))!;
        Assert.That(e.FilePath, Is.EqualTo(weights));
    }

    [TestCase("lstm")]
    [TestCase("char_cnn")]
    [TestCase("lstm.dim")]
    [TestCase("lstm.projection_dim")]
    [TestCase("lstm.n_layers")]
    [TestCase("char_cnn.activation")]
    [TestCase("char_cnn.embedding")]
    [TestCase("char_cnn.embedding.dim")]
    [TestCase("char_cnn.filters")]
    [TestCase("char_cnn.n_characters")]
    [TestCase("char_cnn.max_characters_per_token")]
    public void MissingFieldIsNamed(string field)
    {
        var e = Fails(With(field, "REMOVE"), field);
        Assert.That(e.Message, Does.Contain("missing"));
        Fails(With(field, null), field); // JSON null counts as missing
    }

    [TestCase("lstm.cell_clip")]
    [TestCase("lstm.proj_clip")]
    [TestCase("lstm.use_skip_connections")]
    [TestCase("char_cnn.n_highway")]
    public void OptionalFieldMayBeAbsent(string field)
    {
        var o = ElmoOptions.Parse(With(field, "REMOVE"), Source);
        switch (field)
        {
            case "lstm.cell_clip": Assert.That(o.Lstm.CellClip, Is.Null); break;
            case "lstm.proj_clip": Assert.That(o.Lstm.ProjectionClip, Is.Null); break;
            case "lstm.use_skip_connections": Assert.That(o.Lstm.UseSkipConnections, Is.False); break;
            default: Assert.That(o.CharCnn.HighwayLayers, Is.Zero); break;
        }
    }

    [TestCase("lstm", "[]")]
    [TestCase("lstm", "16")]
    [TestCase("lstm.dim", "\"64\"")]
    [TestCase("lstm.dim", "64.5")]
    [TestCase("lstm.dim", "true")]
    [TestCase("lstm.dim", "[64]")]
    [TestCase("lstm.dim", "3000000000")]
    [TestCase("lstm.dim", "1e400")]
    [TestCase("lstm.projection_dim", "{}")]
    [TestCase("lstm.cell_clip", "\"3\"")]
    [TestCase("lstm.proj_clip", "true")]
    [TestCase("lstm.use_skip_connections", "\"yes\"")]
    [TestCase("lstm.use_skip_connections", "1")]
    [TestCase("char_cnn.activation", "3")]
    [TestCase("char_cnn.embedding", "4")]
    [TestCase("char_cnn.filters", "\"[[1, 4]]\"")]
    [TestCase("char_cnn.filters", "{\"1\": 4}")]
    [TestCase("char_cnn.n_highway", "\"2\"")]
    [TestCase("char_cnn.n_characters", "262.5")]
    public void WrongTypeIsNamed(string field, string value) => Fails(With(field, value), field);

    [TestCase("[[1]]", "char_cnn.filters[0]")]
    [TestCase("[[1, 4, 5]]", "char_cnn.filters[0]")]
    [TestCase("[5]", "char_cnn.filters[0]")]
    [TestCase("[[1, 4], [2, \"8\"]]", "char_cnn.filters[1][1] (count)")]
    [TestCase("[[\"1\", 4]]", "char_cnn.filters[0][0] (width)")]
    [TestCase("[[0, 4]]", "char_cnn.filters[0][0] (width)")]
    [TestCase("[[1, -4]]", "char_cnn.filters[0][1] (count)")]
    [TestCase("[]", "char_cnn.filters")]
    [TestCase("[[51, 4]]", "char_cnn.filters")]
    public void BadFilterIsNamed(string filters, string field) => Fails(With("char_cnn.filters", filters), field);

    [TestCase("lstm.dim", "0")]
    [TestCase("lstm.dim", "-64")]
    [TestCase("lstm.projection_dim", "0")]
    [TestCase("lstm.n_layers", "0")]
    [TestCase("lstm.n_layers", "-1")]
    [TestCase("lstm.cell_clip", "-3")]
    [TestCase("char_cnn.n_highway", "-1")]
    [TestCase("char_cnn.embedding.dim", "0")]
    [TestCase("char_cnn.activation", "\"gelu\"")]
    [TestCase("char_cnn.activation", "\"RELU\"")]
    [TestCase("char_cnn.n_characters", "260")]
    [TestCase("char_cnn.n_characters", "0")]
    [TestCase("char_cnn.max_characters_per_token", "2")]
    [TestCase("char_cnn.max_characters_per_token", "100000")]
    public void ImpossibleValueIsNamed(string field, string value) => Fails(With(field, value), field);

    [Test]
    public void ClipOfZeroMeansNoClip()
    {
        var o = ElmoOptions.Parse(With("lstm.cell_clip", "0"), Source);
        Assert.That(o.Lstm.CellClip, Is.Null);
    }

    [TestCase("lstm.dim", "1000000000", "lstm.dim")]
    [TestCase("lstm.projection_dim", "2000000000", "lstm.projection_dim")]
    [TestCase("char_cnn.n_characters", "2147483647", "char_cnn.n_characters")]
    [TestCase("char_cnn.embedding.dim", "100000000", "char_cnn.embedding.dim")]
    public void ImpossiblyLargeModelIsRefused(string field, string value, string blamed)
    {
        var e = Fails(With(field, value), blamed);
        Assert.That(e.Message, Does.Contain("impossibly large"));
    }

    [Test]
    public void ImpossiblyWideFiltersAreRefused()
    {
        // 3 · 2^30 filters in total: their sum does not even fit in an int.
        Fails(With("char_cnn.filters", "[[1, 1073741824], [1, 1073741824], [1, 1073741824]]"), "char_cnn.filters[0]");
    }

    [Test]
    public void ModelLoadReportsTheOptionsFile()
    {
        using var dir = new TempDir();
        string path = dir.File("options.json");
        File.WriteAllText(path, With("lstm.n_layers", "\"two\""));
        var e = Assert.Throws<ElmoOptionsException>(() => ElmoModel.Load(path, Reference.FixtureWeights))!;
        Assert.That(e.FilePath, Is.EqualTo(path));
        Assert.That(e.Field, Is.EqualTo("lstm.n_layers"));
    }
}
