namespace Elmo.Core;

/// <summary>
/// The output of <see cref="ElmoModule.Forward(BiLmOutput)"/>: one tensor per representation, each
/// <c>(BatchSize, Timesteps, Dim)</c> row-major, with the mask that goes with them, as AllenNLP's <c>Elmo</c>
/// returns <c>{"elmo_representations": [...], "mask": ...}</c>. Positions beyond a sentence are zero when the
/// boundaries are removed; with <see cref="IncludesBoundaries"/> and layer norm they hold the normalised padding,
/// as in AllenNLP.
/// </summary>
public sealed class ElmoModuleOutput
{
    internal ElmoModuleOutput(
        ElmoModule owner, BiLmOutput biLm, float[][] representations, float[]?[] dropoutScales, (float[] Weights, float Gamma)[] parameters,
        byte[] mask, int[] lengths, int timesteps, bool includesBoundaries)
    {
        Owner = owner;
        BiLm = biLm;
        Representations = representations;
        DropoutScales = dropoutScales;
        Parameters = parameters;
        Mask = mask;
        Lengths = lengths;
        Timesteps = timesteps;
        IncludesBoundaries = includesBoundaries;
    }

    /// <summary>The representations, each <c>(BatchSize, Timesteps, Dim)</c> row-major.</summary>
    public IReadOnlyList<float[]> Representations { get; }

    /// <summary><c>(BatchSize, Timesteps)</c>: 1 where a position holds a token (or a kept boundary), 0 at padding.</summary>
    public byte[] Mask { get; }

    /// <summary>Positions per batch row (tokens, plus 2 when boundaries are kept).</summary>
    public int[] Lengths { get; }

    /// <summary>Number of sentences.</summary>
    public int BatchSize => BiLm.BatchSize;

    /// <summary>Positions per row.</summary>
    public int Timesteps { get; }

    /// <summary>Width of each vector: <c>2 · projection_dim</c>.</summary>
    public int Dim => BiLm.Dim;

    /// <summary>Whether the sentence-boundary positions are included.</summary>
    public bool IncludesBoundaries { get; }

    /// <summary>The biLM layers this output was mixed from (with boundaries).</summary>
    public BiLmOutput BiLm { get; }

    internal ElmoModule Owner { get; }

    /// <summary>Per representation: the dropout multipliers (0 or 1/(1−p)) applied, or null when no dropout was applied.</summary>
    internal float[]?[] DropoutScales { get; }

    /// <summary>Per representation: the mix's weights and gamma at the time of the forward pass.</summary>
    internal (float[] Weights, float Gamma)[] Parameters { get; }

    /// <summary>The vector of one representation at one position.</summary>
    /// <param name="representation">Representation index.</param>
    /// <param name="row">Batch row.</param>
    /// <param name="position">Position in the row.</param>
    /// <returns><see cref="Dim"/> values.</returns>
    public ReadOnlySpan<float> Vector(int representation, int row, int position)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)representation, (uint)Representations.Count, nameof(representation));
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)row, (uint)BatchSize, nameof(row));
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)position, (uint)Timesteps, nameof(position));
        return Representations[representation].AsSpan((row * Timesteps + position) * Dim, Dim);
    }

    /// <summary>One sentence of one representation without padding: <c>(Lengths[row], Dim)</c> row-major.</summary>
    /// <param name="representation">Representation index.</param>
    /// <param name="row">Batch row.</param>
    /// <returns>A new array.</returns>
    public float[] SentenceRepresentation(int representation, int row)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)representation, (uint)Representations.Count, nameof(representation));
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)row, (uint)BatchSize, nameof(row));
        return Representations[representation].AsSpan(row * Timesteps * Dim, Lengths[row] * Dim).ToArray();
    }
}
