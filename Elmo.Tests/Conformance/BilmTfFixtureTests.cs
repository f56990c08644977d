using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Conformance;

/// <summary>The original TensorFlow biLM's outputs (bilm-tf fixture), as AllenNLP checks its own port.</summary>
public class BilmTfFixtureTests
{
    [Test]
    public void TopLayerMatchesBilmTfForTenStatefulBatchesOfThree()
    {
        var groups = Reference.SentenceGroups();
        var session = Reference.TinyModel.CreateSession(StateMode.Stateful);
        var expected = Enumerable.Range(0, 3).Select(k => Reference.File_($"bilm-tf-fixture/lm_embeddings_{k}.hdf5")).ToArray();
        for (int i = 0; i < 10; i++)
        {
            var batch = Enumerable.Range(0, 3).Select(k => (IReadOnlyList<string>)groups[k][i]).ToList();
            var output = session.Run(batch).WithoutBoundaries();
            for (int k = 0; k < 3; k++)
            {
                var (data, shape) = Reference.ReadDataset(expected[k], i.ToString());
                int n = shape[1], half = shape[2];
                Assert.That(output.Lengths[k], Is.EqualTo(n), $"batch {i} row {k} length");
                var actual = new float[2 * n * half];
                var want = new float[2 * n * half];
                for (int t = 0; t < n; t++)
                {
                    output.Vector(2, k, t).CopyTo(actual.AsSpan(t * 2 * half));
                    data.AsSpan(t * half, half).CopyTo(want.AsSpan(t * 2 * half));              // forward half
                    data.AsSpan((n + t) * half, half).CopyTo(want.AsSpan(t * 2 * half + half)); // backward half
                }
                Close.AssertAll(actual, want, 1e-6, 1e-5, $"batch {i}, sentence {k}");
            }
        }
    }

    [Test]
    public void TokenEmbeddingsMatchBilmTfDump()
    {
        var words = File.ReadAllText(Reference.File_("bilm-tf-fixture/vocab_test.txt")).Split('\n');
        var (expected, shape) = Reference.ReadDataset(Reference.File_("bilm-tf-fixture/elmo_token_embeddings.hdf5"), "embedding");
        Assert.That(words.Length, Is.EqualTo(shape[0]), "vocabulary size");
        var actual = Reference.TinyModel.EmbedTokens(words);
        Close.AssertAll(actual, expected, 1e-6, 1e-5, "token embeddings");
    }
}
