namespace Elmo.Core;

/// <summary>
/// Precomputed context-independent token vectors (layer 0 before duplication: char CNN → highway → projection)
/// for a fixed vocabulary, AllenNLP's <c>vocab_to_cache</c>. When a biLM run meets a token of the vocabulary it
/// copies the cached vector instead of running the character CNN; other tokens still go through the CNN, so
/// results equal those of the uncached path for every input. <c>&lt;S&gt;</c> and <c>&lt;/S&gt;</c> are always
/// cached. Tokens are matched by their character ids, so two strings with the same ids (e.g. two tokens that
/// agree on their first 48 UTF-8 bytes) share one entry. Immutable and thread-safe once built.
/// </summary>
public sealed class TokenVectorCache
{
    /// <summary>Tokens encoded per call to the CNN while building (bounds the scratch of a large vocabulary).</summary>
    private const int BuildChunk = 1024;

    private readonly Dictionary<string, int> _index;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly float[] _vectors;
    private readonly int _dim;

    /// <summary>Encodes every token of <paramref name="vocabulary"/> with <paramref name="model"/>.</summary>
    /// <param name="model">The model whose vectors are cached; the cache only serves this model.</param>
    /// <param name="vocabulary">Tokens to cache (duplicates are fine; null tokens are not allowed).</param>
    /// <param name="threads">Maximum threads while building (default: all processors).</param>
    /// <exception cref="ElmoInputException">A token is null.</exception>
    public TokenVectorCache(ElmoModel model, IEnumerable<string> vocabulary, int? threads = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocabulary);
        int t = threads ?? Environment.ProcessorCount;
        ArgumentOutOfRangeException.ThrowIfLessThan(t, 1, nameof(threads));
        Model = model;
        _dim = model.Options.Lstm.ProjectionDim;
        int chars = model.Mapper.MaxCharactersPerToken;

        // Distinct character-id sequences, boundary tokens first.
        var ids = new List<int[]>();
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        void Add(ReadOnlySpan<int> tokenIds)
        {
            string key = Key(tokenIds);
            if (_index.TryAdd(key, ids.Count)) ids.Add(tokenIds.ToArray());
        }
        Add(model.Mapper.BeginningOfSentence);
        Add(model.Mapper.EndOfSentence);
        var buffer = new int[chars];
        int position = 0;
        foreach (var token in vocabulary)
        {
            if (token is null) throw new ElmoInputException($"Vocabulary to cache: token {position} is null.");
            model.Mapper.Map(token, buffer);
            Add(buffer);
            position++;
        }
        _lookup = _index.GetAlternateLookup<ReadOnlySpan<char>>();

        // (entries, max_chars) ids -> (entries, projection_dim) vectors, a chunk at a time.
        _vectors = new float[(long)ids.Count * _dim];
        var ws = new Workspace();
        var chunkIds = new int[BuildChunk * chars];
        for (int start = 0; start < ids.Count; start += BuildChunk)
        {
            int n = Math.Min(BuildChunk, ids.Count - start);
            for (int i = 0; i < n; i++) ids[start + i].CopyTo(chunkIds, i * chars);
            CharCnnEncoder.Encode(model.Weights, chunkIds.AsSpan(0, n * chars), n, _vectors.AsSpan(start * _dim, n * _dim), ws, t);
        }
    }

    /// <summary>The model the vectors belong to.</summary>
    public ElmoModel Model { get; }

    /// <summary>Distinct entries (distinct character-id sequences, boundary tokens included).</summary>
    public int Count => _index.Count;

    /// <summary>Bytes held by the vectors.</summary>
    public long SizeInBytes => _vectors.LongLength * sizeof(float);

    /// <summary>Whether <paramref name="token"/> is served from the cache.</summary>
    /// <param name="token">A token.</param>
    /// <returns>True when its character ids are cached.</returns>
    public bool Contains(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        Span<int> ids = stackalloc int[Model.Mapper.MaxCharactersPerToken];
        Model.Mapper.Map(token, ids);
        return Find(ids) >= 0;
    }

    /// <summary>
    /// Fills <paramref name="destination"/> (<c>tokens × projection_dim</c>) with the vectors of the tokens given by
    /// their character ids: cached ones are copied, the others go through the character CNN.
    /// </summary>
    internal void Encode(ElmoWeights weights, ReadOnlySpan<int> ids, int tokens, Span<float> destination, Workspace ws, int threads)
    {
        if (!ReferenceEquals(weights, Model.Weights))
        {
            throw new InvalidOperationException("This token vector cache was built for a different model.");
        }
        int chars = Model.Mapper.MaxCharactersPerToken;
        var missing = ws.Ints("cache.missing", tokens);
        var missingIds = ws.Ints("cache.missingIds", (long)tokens * chars);
        int misses = 0;
        for (int i = 0; i < tokens; i++)
        {
            var tokenIds = ids.Slice(i * chars, chars);
            int entry = Find(tokenIds);
            if (entry >= 0)
            {
                _vectors.AsSpan(entry * _dim, _dim).CopyTo(destination.Slice(i * _dim, _dim));
            }
            else
            {
                tokenIds.CopyTo(missingIds.Slice(misses * chars, chars));
                missing[misses++] = i;
            }
        }
        if (misses == 0) return;

        // (misses, max_chars) ids -> (misses, projection_dim) through the CNN, then to their places.
        var encoded = ws.Floats("cache.encoded", (long)misses * _dim);
        CharCnnEncoder.Encode(weights, missingIds[..(misses * chars)], misses, encoded, ws, threads);
        for (int m = 0; m < misses; m++)
        {
            encoded.Slice(m * _dim, _dim).CopyTo(destination.Slice(missing[m] * _dim, _dim));
        }
    }

    private int Find(ReadOnlySpan<int> ids)
    {
        Span<char> key = stackalloc char[ids.Length];
        for (int i = 0; i < ids.Length; i++) key[i] = (char)ids[i];
        return _lookup.TryGetValue(key, out int entry) ? entry : -1;
    }

    private static string Key(ReadOnlySpan<int> ids)
    {
        Span<char> key = stackalloc char[ids.Length];
        for (int i = 0; i < ids.Length; i++) key[i] = (char)ids[i];
        return new string(key);
    }
}
