namespace Elmo.Core;

/// <summary>Thrown when a weight file is missing, not HDF5, truncated, or its datasets do not match the options.</summary>
public sealed class ElmoWeightsException : ElmoException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and where.</param>
    /// <param name="innerException">The low-level error that revealed it, if any.</param>
    public ElmoWeightsException(string message, Exception? innerException = null) : base(message, innerException)
    {
    }

    /// <summary>The dataset at fault (for example <c>CNN_proj/W_proj</c>).</summary>
    public string? Dataset { get; init; }
}
