using System.Text;
using Elmo.Core;

namespace Elmo.Tests.Robustness;

/// <summary>
/// Odd tokens map to exactly the ids AllenNLP gives them: Python's <c>word.encode("utf-8", "ignore")[:48]</c>
/// between begin- and end-of-word, padding after, every id + 1.
/// </summary>
[TestFixture]
public class CharacterInputTests
{
    private const int Bow = CharacterMapper.BeginningOfWordCharacter + 1;
    private const int Eow = CharacterMapper.EndOfWordCharacter + 1;
    private const int Pad = CharacterMapper.PaddingCharacter + 1;

    private static readonly CharacterMapper Mapper = new();

    /// <summary>The ids AllenNLP computes from the bytes Python's <c>encode("utf-8", "ignore")</c> gives.</summary>
    private static int[] Expected(IReadOnlyList<byte> utf8)
    {
        var ids = Enumerable.Repeat(Pad, 50).ToArray();
        ids[0] = Bow;
        int n = Math.Min(48, utf8.Count);
        for (int k = 0; k < n; k++) ids[k + 1] = utf8[k] + 1;
        ids[n + 1] = Eow;
        return ids;
    }

    /// <summary>
    /// An independent model of Python's <c>str.encode("utf-8", "ignore")</c>: code points are encoded,
    /// surrogate pairs combined, and lone surrogates (which Python strings can hold) dropped.
    /// </summary>
    private static List<byte> PythonUtf8Ignore(string s)
    {
        var bytes = new List<byte>();
        for (int i = 0; i < s.Length; i++)
        {
            int cp = s[i];
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                cp = char.ConvertToUtf32(s[i], s[i + 1]);
                i++;
            }
            else if (char.IsSurrogate(s[i]))
            {
                continue;
            }
            if (cp < 0x80)
            {
                bytes.Add((byte)cp);
            }
            else if (cp < 0x800)
            {
                bytes.Add((byte)(0xC0 | (cp >> 6)));
                bytes.Add((byte)(0x80 | (cp & 0x3F)));
            }
            else if (cp < 0x10000)
            {
                bytes.Add((byte)(0xE0 | (cp >> 12)));
                bytes.Add((byte)(0x80 | ((cp >> 6) & 0x3F)));
                bytes.Add((byte)(0x80 | (cp & 0x3F)));
            }
            else
            {
                bytes.Add((byte)(0xF0 | (cp >> 18)));
                bytes.Add((byte)(0x80 | ((cp >> 12) & 0x3F)));
                bytes.Add((byte)(0x80 | ((cp >> 6) & 0x3F)));
                bytes.Add((byte)(0x80 | (cp & 0x3F)));
            }
        }
        return bytes;
    }

    [Test]
    public void NullAndEmptyTokensAreTheEmptyWord()
    {
        int[] expected = [Bow, Eow, .. Enumerable.Repeat(Pad, 48)];
        Assert.That(Mapper.Map(null), Is.EqualTo(expected));
        Assert.That(Mapper.Map(""), Is.EqualTo(expected));
    }

    [TestCase(new[] { 0x0061, 0xD800, 0x0062 }, new[] { 97, 98 })]
    [TestCase(new[] { 0xDC00 }, new int[0])]
    [TestCase(new[] { 0xD800 }, new int[0])]
    [TestCase(new[] { 0x0078, 0xD83D }, new[] { 120 })]
    [TestCase(new[] { 0xDE00, 0xD83D }, new int[0])]
    [TestCase(new[] { 0xD83D, 0xDE00 }, new[] { 0xF0, 0x9F, 0x98, 0x80 })]
    [TestCase(new[] { 0xD83D, 0xD83D, 0xDE00 }, new[] { 0xF0, 0x9F, 0x98, 0x80 })]
    [TestCase(new[] { 0x00E9, 0xDFFF, 0x00F1 }, new[] { 0xC3, 0xA9, 0xC3, 0xB1 })]
    [TestCase(new[] { 0x0000, 0x0009, 0x007F }, new[] { 0, 9, 127 })]
    [TestCase(new[] { 0xFEFF }, new[] { 0xEF, 0xBB, 0xBF })]
    [TestCase(new[] { 0xFFFF }, new[] { 0xEF, 0xBF, 0xBF })]
    public void LoneSurrogatesAreDroppedAsPythonIgnoreDoes(int[] utf16, int[] utf8)
    {
        // UTF-16 code units, not a string literal: attribute strings are stored as UTF-8, which cannot hold lone surrogates.
        string token = new(utf16.Select(u => (char)u).ToArray());
        var expected = Expected(utf8.Select(b => (byte)b).ToArray());
        Assert.That(Mapper.Map(token), Is.EqualTo(expected));
        Assert.That(PythonUtf8Ignore(token), Is.EqualTo(utf8.Select(b => (byte)b)), "the test's model of Python");
    }

    [Test]
    public void CutAt48BytesMayEndInsideACharacter()
    {
        // 1 + 2·30 bytes: the 48th byte is the lead byte 0xC3 of an 'é' whose continuation is cut, as Python slices bytes.
        string token = "a" + new string('é', 30);
        var ids = Mapper.Map(token);
        Assert.That(ids[1], Is.EqualTo('a' + 1));
        Assert.That(ids[48], Is.EqualTo(0xC3 + 1));
        Assert.That(ids[49], Is.EqualTo(Eow));
        Assert.That(ids, Is.EqualTo(Expected(PythonUtf8Ignore(token))));
    }

    [TestCase(1023)]
    [TestCase(1024)]
    [TestCase(1025)]
    [TestCase(100_000)]
    [TestCase(3_000_000)]
    public void TokensOfAnyLengthAreCut(int length)
    {
        var sb = new StringBuilder(length);
        for (int i = 0; i < length; i++) sb.Append((char)('a' + (i % 26)));
        if (length > 10) sb[5] = '\uD800'; // a lone surrogate early on shifts the bytes by one
        string token = sb.ToString();
        Assert.That(Mapper.Map(token), Is.EqualTo(Expected(PythonUtf8Ignore(token))));
    }

    /// <summary>Long tokens are encoded in pieces: a pair split across pieces and long runs of dropped surrogates still give Python's bytes.</summary>
    [TestCase(255)]
    [TestCase(256)]
    [TestCase(511)]
    [TestCase(2000)]
    public void LongTokensWithSurrogatesAgreeWithPython(int lone)
    {
        var sb = new StringBuilder();
        sb.Append('\uDC00', lone - 1).Append('\uD800'); // lone lows, then a high followed by another high: none pairs
        sb.Append("\uD83D\uDE00abc"); // with lone = 255 this pair straddles the first piece boundary
        sb.Append('x', 3000);
        string token = sb.ToString();
        var ids = Mapper.Map(token);
        Assert.That(ids[1..8], Is.EqualTo(new[] { 0xF0, 0x9F, 0x98, 0x80, 'a', 'b', 'c' }.Select(b => b + 1)));
        Assert.That(ids, Is.EqualTo(Expected(PythonUtf8Ignore(token))));
    }

    [Test]
    public void SentenceBoundaryTokensMapToTheMarkers()
    {
        Assert.That(Mapper.Map("<S>"), Is.EqualTo(Mapper.BeginningOfSentence.ToArray()));
        Assert.That(Mapper.Map("</S>"), Is.EqualTo(Mapper.EndOfSentence.ToArray()));
        Assert.That(Mapper.Map("<s>"), Is.EqualTo(Expected(Encoding.UTF8.GetBytes("<s>"))));
    }

    /// <summary>Random strings over the awkward parts of UTF-16: the mapper agrees with the model of Python everywhere.</summary>
    [Test]
    public void RandomUtf16AgreesWithPython()
    {
        var rng = new Random(20240601);
        char[] pool = ['a', 'Z', ' ', '\0', '\n', '\u0085', '\u00e9', '\u0800', '\uFFFD', '\uFEFF', '\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uD83D', '\uDE00'];
        for (int c = 0; c < 3000; c++)
        {
            int n = rng.Next(0, 60);
            var chars = new char[n];
            for (int i = 0; i < n; i++) chars[i] = rng.Next(3) == 0 ? (char)rng.Next(0, 0x10000) : pool[rng.Next(pool.Length)];
            string token = new(chars);
            Assert.That(Mapper.Map(token), Is.EqualTo(Expected(PythonUtf8Ignore(token))), () => "token " + string.Join(" ", token.Select(ch => ((int)ch).ToString("X4"))));
        }
    }

    [Test]
    public void BatchToIdsMarksMissingTokensWithZero()
    {
        var ids = Mapper.BatchToIds([["a", "b"], [], [null!]]);
        Assert.That((ids.Batch, ids.Tokens, ids.Characters), Is.EqualTo((3, 2, 50)));
        Assert.That(ids.IsToken(0, 1), Is.True);
        Assert.That(ids.IsToken(1, 0), Is.False);
        Assert.That(ids.IsToken(2, 0), Is.True, "a null token is the empty word, still a token");
        Assert.That(ids.IsToken(2, 1), Is.False);
        Assert.Throws<ArgumentException>(() => Mapper.BatchToIds([null!]));
    }
}
