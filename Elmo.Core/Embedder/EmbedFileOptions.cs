namespace Elmo.Core;

/// <summary>Settings of <see cref="ElmoEmbedder.EmbedFile(string, string, LayerChoice?, EmbedFileOptions?, CancellationToken)"/> besides the layers (the file flags of <c>elmo embed</c>).</summary>
public sealed record EmbedFileOptions
{
    /// <summary>Sentences per batch (default 64).</summary>
    public int BatchSize { get; init; } = ElmoEmbedder.DefaultBatchSize;

    /// <summary>The input's format; null to choose by extension (<c>.jsonl</c> is JSON lines, anything else text).</summary>
    public InputFormat? Format { get; init; }

    /// <summary>Skip blank lines instead of failing (keys then count the kept sentences).</summary>
    public bool SkipBlank { get; init; }

    /// <summary>Key datasets by sentence text instead of line index (AllenNLP's <c>use_sentence_keys</c>).</summary>
    public bool UseSentenceKeys { get; init; }

    /// <summary>Do not write the <c>sentence_to_index</c> map (AllenNLP's <c>forget_sentences</c>).</summary>
    public bool ForgetSentences { get; init; }

    /// <summary>Called once the input is counted, then after each batch.</summary>
    public Action<EmbedProgress>? Progress { get; init; }
}
