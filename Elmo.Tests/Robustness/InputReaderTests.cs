using System.Text;
using Elmo.Core;

namespace Elmo.Tests.Robustness;

/// <summary>Input lines as AllenNLP reads them: Python's <c>str.split()</c> and <c>json.loads</c>, odd characters included.</summary>
[TestFixture]
public class InputReaderTests
{
    private static List<InputSentence> Read(string text, InputFormat format, bool skipBlank = false) =>
        InputReader.ReadAll(new StringReader(text), format, "input", skipBlank);

    [Test]
    public void TextSplitsOnPythonWhitespace()
    {
        // Python's str.split() also splits on U+001C…U+001F, U+0085, U+00A0, U+2000…U+200A, U+2028, U+3000; not on U+200B or U+FEFF.
        var s = Read("a\u001Cb\u001Fc\u0085d\u00A0e\u2003f\u2028g\u3000h \u200Bi\uFEFFj\tk\vl\fm\n", InputFormat.Text);
        Assert.That(s.Single().Tokens, Is.EqualTo(new[] { "a", "b", "c", "d", "e", "f", "g", "h", "\u200Bi\uFEFFj", "k", "l", "m" }));
        Assert.That(InputReader.SplitPython("  \u001C "), Is.Empty);
    }

    [Test]
    public void LineOfOnlyWhitespaceIsBlank()
    {
        var e = Assert.Throws<ElmoInputException>(() => Read("a\n \u001D\u00A0\nb\n\t\n", InputFormat.Text))!;
        Assert.That(e.LineNumber, Is.EqualTo(2));
        Assert.That(e.Message, Does.Contain("line 2, 4"));
        Assert.That(Read("a\n \u001D\nb\n", InputFormat.Text, skipBlank: true).Select(x => x.LineNumber), Is.EqualTo(new long[] { 1, 3 }));
    }

    /// <summary>Python's json.dumps writes a lone surrogate as an escape and json.loads keeps it; so do we.</summary>
    [Test]
    public void JsonEscapedLoneSurrogatesAreKept()
    {
        var s = Read("[\"a\\ud800b\", \"\\udc00\", \"\\ud83d\\ude00\", \"\\\"q\\\\\\/\\n\"]\n", InputFormat.JsonLines);
        Assert.That(s.Single().Tokens, Is.EqualTo(new[] { "a\uD800b", "\uDC00", "\uD83D\uDE00", "\"q\\/\n" }));
        var mapper = new CharacterMapper();
        Assert.That(mapper.Map(s[0].Tokens[0]), Is.EqualTo(mapper.Map("ab")), "the mapper then drops the lone surrogate");
    }

    [Test]
    public void RawLoneSurrogatesInJsonLines()
    {
        // Inside a string a raw lone surrogate means the same as its escape; outside a string it is invalid JSON.
        Assert.That(Read("[\"x\uD800\"]", InputFormat.JsonLines).Single().Tokens, Is.EqualTo(new[] { "x\uD800" }));
        var e = Assert.Throws<ElmoInputException>(() => Read("[\"x\"]\n[\uDC00]", InputFormat.JsonLines))!;
        Assert.That(e.LineNumber, Is.EqualTo(2));
    }

    [TestCase("{\"a\": 1}", "array")]
    [TestCase("[1]", "token 0")]
    [TestCase("[\"a\", null]", "token 1")]
    [TestCase("[\"a\"", "not valid JSON")]
    [TestCase("\"a\"", "array")]
    public void BadJsonLineIsNamed(string line, string what)
    {
        var e = Assert.Throws<ElmoInputException>(() => Read("[\"ok\"]\n" + line + "\n", InputFormat.JsonLines))!;
        Assert.That(e.LineNumber, Is.EqualTo(2));
        Assert.That(e.FilePath, Is.EqualTo("input"));
        Assert.That(e.Message, Does.Contain("line 2").And.Contain(what));
    }

    [Test]
    public void EmptyJsonArrayIsAnEmptySentence()
    {
        var s = Read("[]\n[\"a\"]\n", InputFormat.JsonLines);
        Assert.That(s.Select(x => x.Tokens.Count), Is.EqualTo(new[] { 0, 1 }));
    }

    [Test]
    public void InvalidUtf8FromAStrictReaderIsAnInputError()
    {
        var bytes = Encoding.UTF8.GetBytes("fine line\nanother\n").Concat(new byte[] { 0x61, 0xFF, 0xFE, 0x0A }).ToArray();
        using var reader = new StreamReader(new MemoryStream(bytes), new UTF8Encoding(false, throwOnInvalidBytes: true));
        var e = Assert.Throws<ElmoInputException>(() => InputReader.ReadAll(reader, InputFormat.Text, "strict.txt"))!;
        Assert.That(e.FilePath, Is.EqualTo("strict.txt"));
        Assert.That(e.Message, Does.Contain("UTF-8"));
    }
}
