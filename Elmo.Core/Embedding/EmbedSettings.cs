namespace Elmo.Core;

/// <summary>Settings of a bulk embedding run (<c>elmo embed</c>).</summary>
public sealed record EmbedSettings
{
    /// <summary>What is written per sentence.</summary>
    public OutputLayout Layout { get; init; } = OutputLayout.All;

    /// <summary>The mix for <see cref="OutputLayout.Mix"/>.</summary>
    public ScalarMix? Mix { get; init; }

    /// <summary>Sentences per batch.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>How LSTM states carry over between batches.</summary>
    public StateMode Mode { get; init; } = StateMode.Stateless;

    /// <summary>The warm state (required for <see cref="StateMode.Warm"/>).</summary>
    public LstmState? WarmState { get; init; }

    /// <summary>Threads per batch (default: all processors).</summary>
    public int? Threads { get; init; }

    /// <summary>Key datasets by sentence text instead of line index (duplicates are an error).</summary>
    public bool UseSentenceKeys { get; init; }

    /// <summary>Do not write the <c>sentence_to_index</c> map.</summary>
    public bool ForgetSentences { get; init; }
}
