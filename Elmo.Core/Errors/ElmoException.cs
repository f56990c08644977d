namespace Elmo.Core;

/// <summary>
/// Base class of every error Elmo.Core reports about its inputs: options, weights, text and output.
/// The message always names the file and the field, dataset or line at fault.
/// </summary>
public class ElmoException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming file and field, dataset or line.</param>
    /// <param name="innerException">The low-level error that revealed it, if any.</param>
    public ElmoException(string message, Exception? innerException = null) : base(message, innerException)
    {
    }

    /// <summary>The file at fault, when there is one.</summary>
    public string? FilePath { get; init; }
}
