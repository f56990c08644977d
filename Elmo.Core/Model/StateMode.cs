namespace Elmo.Core;

/// <summary>How LSTM states carry over between the batches of one <see cref="ElmoSession"/>.</summary>
public enum StateMode
{
    /// <summary>Every batch starts from zero state: results do not depend on batching or order.</summary>
    Stateless,

    /// <summary>
    /// AllenNLP / bilm-tf behaviour: each batch row starts from the final state of the same row of the
    /// previous batch (new rows from zero; rows beyond a smaller batch keep their state). Results depend on
    /// what ran before; use it to reproduce those systems.
    /// </summary>
    Stateful,

    /// <summary>
    /// Every sentence starts from a fixed warm state (the state after a warm-up text): deterministic like
    /// <see cref="Stateless"/>, but each sentence enters the biLM the way it was trained, after a sentence end.
    /// </summary>
    Warm,
}
