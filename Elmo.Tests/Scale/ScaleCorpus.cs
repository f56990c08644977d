using System.Text;

namespace Elmo.Tests.Scale;

/// <summary>Small corpora for split and resumed runs: sentences of 1–25 tokens, some repeated (so <c>sentence_to_index</c> maps a repeated sentence to its last key across parts), or all distinct (for <c>--use-sentence-keys</c>).</summary>
internal static class ScaleCorpus
{
    private static readonly string[] Words = ["the", "cat", "sat", "on", "a", "mat", "and", "Fruit", "flies", "like", "banana", "time", "runs", "faster", "than", "we", "think", ",", ".", "über", "naïve", "日本"];

    public static string Text(int sentences, bool distinct, int seed = 7)
    {
        var random = new Random(seed);
        var lines = new StringBuilder();
        for (int i = 0; i < sentences; i++)
        {
            if (!distinct && i > 10 && random.Next(6) == 0)
            {
                // A sentence seen before: its key in sentence_to_index is its last occurrence.
                lines.Append(Line(random.Next(i / 2), seed)).Append('\n');
                continue;
            }
            lines.Append(distinct ? $"s{i} " : "").Append(Line(i, seed)).Append('\n');
        }
        return lines.ToString();
    }

    private static string Line(int i, int seed)
    {
        var random = new Random(seed * 7919 + i);
        int n = 1 + random.Next(random.Next(4) == 0 ? 25 : 8);
        return string.Join(' ', Enumerable.Range(0, n).Select(_ => Words[random.Next(Words.Length)]));
    }
}
