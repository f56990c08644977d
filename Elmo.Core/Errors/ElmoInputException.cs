namespace Elmo.Core;

/// <summary>Thrown when input text or character ids cannot be embedded (a bad line, an invalid batch).</summary>
public sealed class ElmoInputException : ElmoException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and where.</param>
    /// <param name="innerException">The low-level error that revealed it, if any.</param>
    public ElmoInputException(string message, Exception? innerException = null) : base(message, innerException)
    {
    }

    /// <summary>The 1-based line number at fault, when the input came from a file.</summary>
    public long? LineNumber { get; init; }
}
