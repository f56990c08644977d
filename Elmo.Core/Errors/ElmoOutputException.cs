namespace Elmo.Core;

/// <summary>Thrown when an output file cannot be written.</summary>
public sealed class ElmoOutputException : ElmoException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and where.</param>
    /// <param name="innerException">The low-level error that revealed it, if any.</param>
    public ElmoOutputException(string message, Exception? innerException = null) : base(message, innerException)
    {
    }
}
