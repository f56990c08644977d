namespace Elmo.Core;

/// <summary>Thrown when an options JSON file is unreadable, malformed, or describes an impossible model.</summary>
public sealed class ElmoOptionsException : ElmoException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and where.</param>
    /// <param name="innerException">The low-level error that revealed it, if any.</param>
    public ElmoOptionsException(string message, Exception? innerException = null) : base(message, innerException)
    {
    }

    /// <summary>The JSON field at fault (for example <c>lstm.projection_dim</c>).</summary>
    public string? Field { get; init; }
}
