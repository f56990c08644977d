namespace Elmo.Core;

/// <summary>Turns PureHDF's exceptions into text for one-line messages.</summary>
internal static class Hdf5Errors
{
    /// <summary>
    /// The messages of <paramref name="e"/> and its inner exceptions, joined by ": " (PureHDF wraps a filter's error
    /// in "Filter pipeline failed."), with the type of the innermost one when it says more than its message.
    /// </summary>
    public static string Describe(Exception e)
    {
        var parts = new List<string>();
        for (var x = e; x is not null; x = x.InnerException)
        {
            string m = x.Message.TrimEnd('.');
            if (m.Length > 0 && !parts.Contains(m)) parts.Add(m);
        }
        var inner = e.GetBaseException();
        string type = inner.GetType().Name;
        return (type is nameof(Exception) or nameof(InvalidDataException) ? "" : type + ": ") + string.Join(": ", parts);
    }
}
