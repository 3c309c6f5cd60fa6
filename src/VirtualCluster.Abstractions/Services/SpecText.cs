using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VirtualCluster;

/// <summary>Renders user values inside error messages: quoted, escaped and cut short.</summary>
internal static class SpecText
{
    // Error messages echo what the user wrote; a 1 MB string must not become a 1 MB message.
    private const int MaxShown = 40;

    /// <summary>A string as a JSON-style literal, e.g. <c>"64MB"</c>.</summary>
    public static string Quote(string value)
    {
        var cut = value.Length > MaxShown;
        var shown = cut ? value[..MaxShown] : value;
        var builder = new StringBuilder(shown.Length + 4).Append('"');
        foreach (var c in shown)
        {
            // Control characters and surrogates are escaped so the message is printable and valid UTF-16 after cutting.
            if (c is '"' or '\\') builder.Append('\\').Append(c);
            else if (char.IsControl(c) || char.IsSurrogate(c)) builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            else builder.Append(c);
        }
        builder.Append('"');
        if (cut) builder.Append("...");
        return builder.ToString();
    }

    /// <summary>Any JSON value as the user wrote it (strings decoded and quoted, others raw), cut short.</summary>
    public static string Show(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            return JsonReading.TryGetString(value, out var text) ? Quote(text) : "a string with an invalid \\u escape";
        }
        var raw = value.GetRawText();
        return raw.Length > MaxShown ? raw[..MaxShown] + "..." : raw;
    }

    /// <summary>"a string", "a number", "an object" ... for type errors.</summary>
    public static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    /// <summary>"a", "a or b", "a, b or c".</summary>
    public static string OneOf(IReadOnlyList<string> options) => options.Count switch
    {
        0 => "",
        1 => options[0],
        _ => string.Join(", ", options.Take(options.Count - 1)) + " or " + options[^1],
    };
}
