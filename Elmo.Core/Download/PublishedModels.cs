namespace Elmo.Core;

/// <summary>
/// The ELMo models AllenNLP published (https://allennlp.org/elmo), by the names <c>elmo --model</c> accepts.
/// Their files are downloaded once into a <see cref="ModelCache"/>.
/// </summary>
public static class PublishedModels
{
    private const string Root = "https://allennlp.s3.amazonaws.com/models/elmo/";

    /// <summary>The original ELMo (2x4096_512_2048cnn_2xhighway, 93.6 M parameters), trained on the 1 Billion Word Benchmark.</summary>
    public static PublishedModel Original { get; } = Make(
        "original", "2x4096_512_2048cnn_2xhighway", "the original ELMo (Peters et al. 2018), trained on the 1 Billion Word Benchmark", ModelPresets.Original);

    /// <summary>The original architecture trained on 5.5B tokens (Wikipedia and news crawl).</summary>
    public static PublishedModel Original55B { get; } = Make(
        "original-5.5B", "2x4096_512_2048cnn_2xhighway_5.5B", "the original architecture trained on 5.5B tokens (Wikipedia + WMT 2008-2012 news crawl)", ModelPresets.Original);

    /// <summary>The medium model (2x2048_256_2048cnn_1xhighway).</summary>
    public static PublishedModel Medium { get; } = Make(
        "medium", "2x2048_256_2048cnn_1xhighway", "LSTM cell 2048, projection 256, one highway layer", ModelPresets.Medium);

    /// <summary>The small model (2x1024_128_2048cnn_1xhighway).</summary>
    public static PublishedModel Small { get; } = Make(
        "small", "2x1024_128_2048cnn_1xhighway", "LSTM cell 1024, projection 128, one highway layer", ModelPresets.Small);

    /// <summary>Every published model, in order of size.</summary>
    public static IReadOnlyList<PublishedModel> All { get; } = [Small, Medium, Original, Original55B];

    /// <summary>Finds a published model by name (case-insensitive).</summary>
    /// <param name="name">original, original-5.5B, medium or small.</param>
    /// <param name="model">The model, when found.</param>
    /// <returns>Whether the name is known.</returns>
    public static bool TryGet(string name, out PublishedModel model)
    {
        ArgumentNullException.ThrowIfNull(name);
        model = All.FirstOrDefault(m => m.Name.Equals(name, StringComparison.OrdinalIgnoreCase))!;
        return model is not null;
    }

    private static PublishedModel Make(string name, string id, string description, ElmoOptions architecture) => new(
        name,
        description,
        new Uri($"{Root}{id}/elmo_{id}_options.json"),
        new Uri($"{Root}{id}/elmo_{id}_weights.hdf5"),
        architecture);
}
