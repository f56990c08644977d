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
