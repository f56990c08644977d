namespace Elmo.Core;

/// <summary>What <c>elmo embed</c> writes per sentence.</summary>
public enum OutputLayout
{
    /// <summary>All layers: <c>(layers, tokens, dim)</c>.</summary>
    All,

    /// <summary>The top layer: <c>(tokens, dim)</c>.</summary>
    Top,

    /// <summary>The mean of the layers: <c>(tokens, dim)</c>.</summary>
    Average,

    /// <summary>A scalar mix of the layers: <c>(tokens, dim)</c>.</summary>
    Mix,
}
