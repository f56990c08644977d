using System.Numerics.Tensors;

namespace Elmo.Core;

/// <summary>
/// The vectors of one sentence from an <see cref="ElmoEmbedder"/>: <see cref="Values"/> row-major in the shape
/// <see cref="Shape"/>, which is <c>(LayerCount, TokenCount, Dim)</c> for <see cref="LayerChoice.All"/> (AllenNLP's
/// <c>embed_sentence</c>, <c>elmo embed --all</c>) and <c>(TokenCount, Dim)</c> for a single matrix
/// (<see cref="LayerChoice.Top"/>, <see cref="LayerChoice.Average"/>, <see cref="LayerChoice.Mix"/>), the shapes
/// <c>elmo embed</c> writes. Immutable once made; safe to share between threads.
/// </summary>
public sealed class SentenceEmbedding
{
    private readonly float[] _values;

    internal SentenceEmbedding(long index, IReadOnlyList<string> tokens, float[] values, int layerCount, int tokenCount, int dim, bool hasLayerAxis)
    {
        Index = index;
        Tokens = tokens;
        _values = values;
        LayerCount = layerCount;
        TokenCount = tokenCount;
        Dim = dim;
        HasLayerAxis = hasLayerAxis;
    }

    /// <summary>The sentence's position in the input (0-based): in a stream, the count of sentences before it; in a batch, its row.</summary>
    public long Index { get; }

    /// <summary>The input tokens (the list that was given).</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>Every value, row-major in the order of <see cref="Shape"/>.</summary>
    public ReadOnlySpan<float> Values => _values;

    /// <summary>Layers held: L+1 for <see cref="LayerChoice.All"/>, 1 for a single matrix.</summary>
    public int LayerCount { get; }

    /// <summary>Tokens of the sentence (no <c>&lt;S&gt;</c>/<c>&lt;/S&gt;</c> positions).</summary>
    public int TokenCount { get; }

    /// <summary>Values per vector: <c>2 · projection_dim</c>.</summary>
    public int Dim { get; }

    /// <summary>Whether <see cref="Shape"/> has a leading layer axis (<see cref="LayerChoice.All"/>).</summary>
    public bool HasLayerAxis { get; }

    /// <summary><c>[LayerCount, TokenCount, Dim]</c> with a layer axis, else <c>[TokenCount, Dim]</c>.</summary>
    public IReadOnlyList<int> Shape => HasLayerAxis ? [LayerCount, TokenCount, Dim] : [TokenCount, Dim];

    /// <summary>One layer: <c>(TokenCount, Dim)</c> row-major. A single-matrix result has one layer, 0.</summary>
    /// <param name="layer">0…<see cref="LayerCount"/>−1.</param>
    /// <returns>A view of the values.</returns>
    public ReadOnlySpan<float> Layer(int layer)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)layer, (uint)LayerCount, nameof(layer));
        return _values.AsSpan(layer * TokenCount * Dim, TokenCount * Dim);
    }

    /// <summary>The vector of one token in one layer: <see cref="Dim"/> values.</summary>
    /// <param name="layer">0…<see cref="LayerCount"/>−1.</param>
    /// <param name="token">0…<see cref="TokenCount"/>−1.</param>
    /// <returns>A view of the values.</returns>
    public ReadOnlySpan<float> Vector(int layer, int token)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)layer, (uint)LayerCount, nameof(layer));
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)token, (uint)TokenCount, nameof(token));
        return _values.AsSpan((layer * TokenCount + token) * Dim, Dim);
    }

    /// <summary>The vector of one token of a single-matrix result (top, average or mix).</summary>
    /// <param name="token">0…<see cref="TokenCount"/>−1.</param>
    /// <returns>A view of the values.</returns>
    /// <exception cref="InvalidOperationException">The result holds every layer: say which with <see cref="Vector(int, int)"/>.</exception>
    public ReadOnlySpan<float> Vector(int token)
    {
        if (LayerCount != 1) throw new InvalidOperationException($"This result holds {LayerCount} layers; choose one with Vector(layer, token).");
        return Vector(0, token);
    }

    /// <summary>The values as a <see cref="ReadOnlyTensorSpan{T}"/> of shape <see cref="Shape"/> (no copy).</summary>
    /// <returns>A tensor view.</returns>
    public ReadOnlyTensorSpan<float> AsTensorSpan()
    {
        ReadOnlySpan<nint> lengths = HasLayerAxis ? [LayerCount, TokenCount, Dim] : [TokenCount, Dim];
        return new ReadOnlyTensorSpan<float>(_values, lengths);
    }

    /// <summary>A copy of the values.</summary>
    /// <returns>A new array, row-major in the order of <see cref="Shape"/>.</returns>
    public float[] ToArray() => (float[])_values.Clone();
}
