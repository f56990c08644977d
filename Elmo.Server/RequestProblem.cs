namespace Elmo.Server;

/// <summary>
/// A request the server refuses: the HTTP status, a short title and one line naming what is wrong, answered as an
/// RFC 9457 problem body (<c>application/problem+json</c>).
/// </summary>
public sealed class RequestProblem : Exception
{
    /// <summary>Creates the problem.</summary>
    /// <param name="status">The HTTP status.</param>
    /// <param name="title">A short, fixed summary of the kind of problem.</param>
    /// <param name="detail">One line naming the field and what is wrong with it.</param>
    /// <param name="field">The request field at fault (<c>sentences[3][2]</c>, <c>output.mix</c>, <c>body</c>), if any.</param>
    public RequestProblem(int status, string title, string detail, string? field = null) : base(detail)
    {
        Status = status;
        Title = title;
        Field = field;
    }

    /// <summary>The HTTP status.</summary>
    public int Status { get; }

    /// <summary>A short, fixed summary of the kind of problem.</summary>
    public string Title { get; }

    /// <summary>The request field at fault, if any.</summary>
    public string? Field { get; }

    /// <summary>Seconds for a <c>Retry-After</c> header (503), if any.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>400: the body is not what <c>/v1/embed</c> takes.</summary>
    internal static RequestProblem Invalid(string field, string detail) => new(400, "Invalid request", $"{field}: {detail}", field);

    /// <summary>413: the request is larger than a limit.</summary>
    internal static RequestProblem TooLarge(string field, string detail) => new(413, "Request too large", $"{field}: {detail}", field);
}
