using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Mixing;

/// <summary>AllenNLP's <c>vocab_to_cache</c>: the cached path gives what the character path gives.</summary>
public class TokenVectorCacheTests
{
    [Test]
    public void CachedVocabularyEqualsTheCharacterPathOnTheFixture()
    {
        var model = Reference.TinyModel;
        var sentences = Reference.Sentences().Select(s => (IReadOnlyList<string>)s).ToList();

        // Cache every fixture word except a few, so that batches mix cached and uncached tokens.
        var words = sentences.SelectMany(s => s).Distinct().ToList();
        var left = words.Where((_, i) => i % 7 == 3).ToHashSet();
        var vocabulary = File.ReadAllLines(Reference.File_("bilm-tf-fixture/vocab_test.txt")).Concat(words).Where(w => !left.Contains(w)).ToList();
        Assert.That(left, Is.Not.Empty);

        var cached = new ElmoModule(model.CreateSession(StateMode.Stateless), 2, new ElmoModuleOptions { VocabularyToCache = vocabulary, DoLayerNorm = true });
        var plain = new ElmoModule(model.CreateSession(StateMode.Stateless), 2, new ElmoModuleOptions { DoLayerNorm = true });
        Assert.That(cached.VocabularyCache, Is.Not.Null);
        Assert.That(left.Any(cached.VocabularyCache!.Contains), Is.False);
        Assert.That(words.Where(w => !left.Contains(w)).All(cached.VocabularyCache.Contains), Is.True);

        double worst = 0;
        for (int start = 0; start < sentences.Count; start += 4)
        {
            var batch = sentences.Skip(start).Take(4).ToList();
            var a = cached.Forward(batch);
            var b = plain.Forward(batch);
            worst = Math.Max(worst, Close.MaxAbsDiff(a.BiLm.Layers, b.BiLm.Layers));
            Close.AssertAll(a.BiLm.Layers, b.BiLm.Layers, 1e-6, 0, $"biLM layers, batch at {start}");
            for (int k = 0; k < 2; k++) Close.AssertAll(a.Representations[k], b.Representations[k], 1e-6, 0, $"representation {k}, batch at {start}");
        }
        TestContext.Out.WriteLine($"max |cached − uncached| = {worst:G3}");
    }

    [Test]
    public void CachedVectorsAreTheTokenEmbeddings()
    {
        var model = new ElmoModel(RandomWeights.Create(ModelPresets.Tiny, 4));
        string[] vocabulary = ["the", "cat", "The", "naïve", "<S>", new string('x', 60)];
        var cache = new TokenVectorCache(model, vocabulary, threads: 1);

        // Boundary tokens are always cached; "<S>" in the vocabulary is the same entry.
        Assert.That(cache.Count, Is.EqualTo(2 + vocabulary.Length - 1));
        Assert.That(cache.Contains("</S>"), Is.True);
        Assert.That(cache.Contains(new string('x', 48) + "yz"), Is.True, "tokens are cut to 48 bytes before matching");
        Assert.That(cache.Contains("dog"), Is.False);
        Assert.That(cache.SizeInBytes, Is.EqualTo(cache.Count * 16 * sizeof(float)));

        var session = model.CreateSession(StateMode.Stateless);
        var module = new ElmoModule(session, 1, new ElmoModuleOptions { VocabularyToCache = vocabulary });
        var withCache = module.Forward([["the", "dog", "naïve"], ["cat"]]).BiLm;
        var embedded = model.EmbedTokens(["the", "dog", "naïve", "cat"]);
        int p = 16;
        Assert.That(withCache.Vector(0, 0, 1)[..p].ToArray(), Is.EqualTo(embedded.AsSpan(0, p).ToArray()).Within(1e-6f));
        Assert.That(withCache.Vector(0, 0, 2)[..p].ToArray(), Is.EqualTo(embedded.AsSpan(p, p).ToArray()).Within(1e-6f));
        Assert.That(withCache.Vector(0, 0, 3)[..p].ToArray(), Is.EqualTo(embedded.AsSpan(2 * p, p).ToArray()).Within(1e-6f));
        Assert.That(withCache.Vector(0, 1, 1)[..p].ToArray(), Is.EqualTo(embedded.AsSpan(3 * p, p).ToArray()).Within(1e-6f));
    }

    [Test]
    public void BadVocabularyIsRefused()
    {
        var model = new ElmoModel(RandomWeights.Create(ModelPresets.Tiny, 4));
        var e = Assert.Throws<ElmoInputException>(() => _ = new TokenVectorCache(model, ["a", null!, "b"]));
        Assert.That(e!.Message, Does.Contain("token 1"));
        Assert.Throws<ArgumentNullException>(() => _ = new TokenVectorCache(model, null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new TokenVectorCache(model, ["a"], threads: 0));
    }

    [Test]
    public void ACacheServesOnlyItsOwnModel()
    {
        var model = new ElmoModel(RandomWeights.Create(ModelPresets.Tiny, 4));
        var other = new ElmoModel(RandomWeights.Create(ModelPresets.Tiny, 5));
        var cache = new TokenVectorCache(model, ["a"]);
        var ids = new int[50];
        model.Mapper.Map("a", ids);
        Assert.Throws<InvalidOperationException>(() => cache.Encode(other.Weights, ids, 1, new float[16], new Workspace(), 1));
    }
}
