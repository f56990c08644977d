namespace Elmo.Examples.Tagger;

/// <summary>
/// A small part-of-speech-like tagging task, generated from a tiny grammar (no download):
/// <c>DET [ADJ] NOUN VERB DET [ADJ] NOUN [ADV] .</c>. Some words are both nouns and verbs ("flies", "watches",
/// "plays", …): their tag depends on where they stand, so a tagger must look at the context to get them right.
/// </summary>
public static class TaggedCorpus
{
    /// <summary>The tags.</summary>
    public static IReadOnlyList<string> TagNames { get; } = ["DET", "ADJ", "NOUN", "VERB", "ADV", "PUNCT"];

    private const int Det = 0, Adj = 1, Noun = 2, Verb = 3, Adv = 4, Punct = 5;

    private static readonly string[] Determiners = ["the", "a", "this", "every", "my", "our"];
    private static readonly string[] Adjectives = ["small", "old", "red", "quiet", "happy", "busy", "tired", "bright"];
    private static readonly string[] Nouns = ["dog", "cat", "river", "man", "city", "book", "child", "teacher", "garden", "window"];
    private static readonly string[] Verbs = ["sees", "likes", "finds", "leaves", "reads", "follows", "paints", "opens"];
    private static readonly string[] Adverbs = ["quickly", "often", "again", "today", "slowly"];

    /// <summary>Words that are nouns after a determiner or adjective and verbs after the subject.</summary>
    private static readonly string[] NounsOrVerbs = ["flies", "watches", "plays", "runs", "works", "fish", "drinks", "waves"];

    /// <summary>Generates <paramref name="count"/> tagged sentences; the same seed gives the same sentences on every machine.</summary>
    /// <param name="count">Sentences.</param>
    /// <param name="seed">The seed.</param>
    /// <returns>The sentences.</returns>
    public static List<TaggedSentence> Generate(int count, int seed)
    {
        var random = new Random(seed);
        var sentences = new List<TaggedSentence>(count);
        for (int i = 0; i < count; i++)
        {
            var tokens = new List<string>();
            var tags = new List<int>();
            var ambiguous = new List<bool>();
            void Add(string word, int tag, bool isAmbiguous = false)
            {
                tokens.Add(word);
                tags.Add(tag);
                ambiguous.Add(isAmbiguous);
            }
            string Pick(string[] words) => words[random.Next(words.Length)];

            // Subject: DET [ADJ] NOUN, where the noun is an ambiguous word one time in three.
            Add(Capitalise(Pick(Determiners)), Det);
            if (random.Next(2) == 0) Add(Pick(Adjectives), Adj);
            if (random.Next(3) == 0) Add(Pick(NounsOrVerbs), Noun, true);
            else Add(Pick(Nouns), Noun);

            // Verb: an ambiguous word one time in two.
            if (random.Next(2) == 0) Add(Pick(NounsOrVerbs), Verb, true);
            else Add(Pick(Verbs), Verb);

            // Object: DET [ADJ] NOUN [ADV] .
            Add(Pick(Determiners), Det);
            if (random.Next(2) == 0) Add(Pick(Adjectives), Adj);
            if (random.Next(3) == 0) Add(Pick(NounsOrVerbs), Noun, true);
            else Add(Pick(Nouns), Noun);
            if (random.Next(3) == 0) Add(Pick(Adverbs), Adv);
            Add(".", Punct);
            sentences.Add(new TaggedSentence([.. tokens], [.. tags], [.. ambiguous]));
        }
        return sentences;
    }

    private static string Capitalise(string word) => char.ToUpperInvariant(word[0]) + word[1..];
}
