using System.Globalization;
using System.Text;

namespace Elmo.Core;

/// <summary>
/// Writes JSON exactly as Python's <c>json.dumps</c> does with its defaults (<c>ensure_ascii=True</c>, separators
/// <c>", "</c> and <c>": "</c>), so that <c>sentence_to_index</c> is byte-for-byte what AllenNLP wrote.
/// </summary>
internal static class PythonJson
{
    /// <summary>A JSON object of string keys and values, in the order given.</summary>
    public static string Object(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var sb = new StringBuilder("{");
        bool first = true;
        foreach (var (key, value) in pairs)
        {
            if (!first) sb.Append(", ");
            first = false;
            AppendString(sb, key);
            sb.Append(": ");
            AppendString(sb, value);
        }
        return sb.Append('}').ToString();
    }

    /// <summary>The length of <paramref name="s"/>'s JSON string literal (quotes included), as <see cref="AppendString"/> writes it.</summary>
    /// <param name="s">The text.</param>
    /// <returns>ASCII characters.</returns>
    public static long StringLength(ReadOnlySpan<char> s)
    {
        long n = 2;
        foreach (char c in s)
        {
            n += c switch
            {
                '"' or '\\' or '\n' or '\r' or '\t' or '\b' or '\f' => 2,
                >= ' ' and <= '~' => 1,
                _ => 6,
            };
        }
        return n;
    }

    /// <summary>Writes <paramref name="s"/>'s JSON string literal as ASCII bytes into <paramref name="destination"/>.</summary>
    /// <param name="s">The text.</param>
    /// <param name="destination">At least <see cref="StringLength"/> bytes.</param>
    /// <returns>The bytes written.</returns>
    public static int WriteString(ReadOnlySpan<char> s, Span<byte> destination)
    {
        int at = 0;
        destination[at++] = (byte)'"';
        foreach (char c in s)
        {
            char escape = c switch { '"' => '"', '\\' => '\\', '\n' => 'n', '\r' => 'r', '\t' => 't', '\b' => 'b', '\f' => 'f', _ => '\0' };
            if (escape != '\0')
            {
                destination[at++] = (byte)'\\';
                destination[at++] = (byte)escape;
            }
            else if (c is >= ' ' and <= '~')
            {
                destination[at++] = (byte)c;
            }
            else
            {
                destination[at++] = (byte)'\\';
                destination[at++] = (byte)'u';
                ((int)c).TryFormat(destination.Slice(at, 4), out _, "x4", CultureInfo.InvariantCulture);
                at += 4;
            }
        }
        destination[at++] = (byte)'"';
        return at;
    }

    /// <summary>A JSON string literal: <c>"</c> and <c>\</c> escaped, the usual short escapes, everything outside printable ASCII as <c>\uxxxx</c>.</summary>
    public static void AppendString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c is >= ' ' and <= '~') sb.Append(c);
                    else sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
            }
        }
        sb.Append('"');
    }
}
