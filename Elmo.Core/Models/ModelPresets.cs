namespace Elmo.Core;

/// <summary>The architectures of the published ELMo models, plus small ones for tests and demos.</summary>
public static class ModelPresets
{
    private static readonly CharFilter[] PublishedFilters =
        [new(1, 32), new(2, 32), new(3, 64), new(4, 128), new(5, 256), new(6, 512), new(7, 1024)];

    /// <summary>2x4096_512_2048cnn_2xhighway: the original ELMo (93.6 M parameters); also the 5.5B model's architecture.</summary>
    public static ElmoOptions Original { get; } = Published(4096, 512, 2);

    /// <summary>2x2048_256_2048cnn_1xhighway.</summary>
    public static ElmoOptions Medium { get; } = Published(2048, 256, 1);

    /// <summary>2x1024_128_2048cnn_1xhighway.</summary>
    public static ElmoOptions Small { get; } = Published(1024, 128, 1);

    /// <summary>The bilm-tf test fixture's architecture (cell 64, projection 16, 124 filters, 2 highway layers).</summary>
    public static ElmoOptions Tiny { get; } = new(
        new LstmOptions(64, 16, 2, 3f, 3f, true),
        new CharCnnOptions(CharActivation.Relu, 4, [new(1, 4), new(2, 8), new(3, 16), new(4, 32), new(5, 64)], 2, 262, 50));

    /// <summary>The built-in demo model's architecture (random weights; cell 256, projection 64, 256 filters, 1 highway layer).</summary>
    public static ElmoOptions Demo { get; } = new(
        new LstmOptions(256, 64, 2, 3f, 3f, true),
        new CharCnnOptions(CharActivation.Relu, 16, [new(1, 32), new(2, 32), new(3, 64), new(4, 128)], 1, 262, 50));

    /// <summary>Names accepted by <see cref="Get"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["original", "medium", "small", "tiny", "demo"];

    /// <summary>The preset called <paramref name="name"/>.</summary>
    /// <param name="name">One of <see cref="Names"/> (case-insensitive).</param>
    /// <returns>Its options.</returns>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static ElmoOptions Get(string name) => name.ToLowerInvariant() switch
    {
        "original" => Original,
        "medium" => Medium,
        "small" => Small,
        "tiny" => Tiny,
        "demo" => Demo,
        _ => throw new ArgumentException($"Unknown preset '{name}'; expected one of: {string.Join(", ", Names)}.", nameof(name)),
    };

    private static ElmoOptions Published(int cell, int projection, int highway) => new(
        new LstmOptions(cell, projection, 2, 3f, 3f, true),
        new CharCnnOptions(CharActivation.Relu, 16, PublishedFilters, highway, 262, 50));
}
