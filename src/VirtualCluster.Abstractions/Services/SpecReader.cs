using System.Text.Json;
using VirtualCluster.Api;

namespace VirtualCluster;

/// <summary>
/// Typed reads of JSON values that record a <see cref="FieldError"/> instead of throwing, so one pass
/// over a document reports every problem. Each read returns null when the value was unusable.
/// </summary>
internal sealed class SpecReader
{
    private const string BadEscape = "contains an invalid \\u escape (an unpaired surrogate); fix or remove it";

    private readonly List<FieldError> errors = [];

    public IReadOnlyList<FieldError> Errors => errors;

    public bool HasErrors => errors.Count > 0;

    public void Error(string path, string message) => errors.Add(new FieldError(path, message));

    /// <summary>The members of an object in document order; reports non-objects, unreadable names and duplicates.</summary>
    public List<KeyValuePair<string, JsonElement>>? Entries(JsonElement value, string path, string example)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            Error(path, $"must be an object like {example}, not {SpecText.Describe(value.ValueKind)}");
            return null;
        }
        var entries = new List<KeyValuePair<string, JsonElement>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in value.EnumerateObject())
        {
            if (!JsonReading.TryGetName(property, out var name))
            {
                Error(path, $"has a field name that {BadEscape}");
                continue;
            }
            // JsonDocument keeps duplicate names; silently taking one of them would hide a mistake.
            if (!seen.Add(name))
            {
                Error(SpecPath.Field(path, name), "appears more than once; keep only one");
                continue;
            }
            entries.Add(new(name, property.Value));
        }
        return entries;
    }

    /// <summary>An object with a fixed set of fields; unknown fields are reported with the allowed list.</summary>
    public Dictionary<string, JsonElement>? Fields(JsonElement value, string path, IReadOnlyList<string> allowed, string example)
    {
        var entries = Entries(value, path, example);
        if (entries is null) return null;
        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var (name, item) in entries)
        {
            if (allowed.Contains(name)) fields[name] = item;
            else Error(SpecPath.Field(path, name), UnknownField(name, allowed));
        }
        return fields;
    }

    /// <summary>An array of at most <paramref name="maxItems"/> items.</summary>
    public List<JsonElement>? Array(JsonElement value, string path, int maxItems, string example)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            Error(path, $"must be an array like {example}, not {SpecText.Describe(value.ValueKind)}");
            return null;
        }
        var length = value.GetArrayLength();
        if (length > maxItems)
        {
            Error(path, $"has {length} entries; at most {maxItems} are allowed");
            return null;
        }
        return [.. value.EnumerateArray()];
    }

    /// <summary>A string of at most <paramref name="maxLength"/> characters; blank strings are rejected unless <paramref name="allowEmpty"/>.</summary>
    public string? Text(JsonElement value, string path, int maxLength, string example, bool allowEmpty = false)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            Error(path, $"must be a string like {example}, not {SpecText.Describe(value.ValueKind)}");
            return null;
        }
        if (!JsonReading.TryGetString(value, out var text))
        {
            Error(path, BadEscape);
            return null;
        }
        if (!allowEmpty && string.IsNullOrWhiteSpace(text))
        {
            Error(path, $"must not be empty; write something like {example}");
            return null;
        }
        if (text.Length > maxLength)
        {
            Error(path, $"is {text.Length} characters long; at most {maxLength} are allowed");
            return null;
        }
        return text;
    }

    /// <summary>A whole number between <paramref name="min"/> and <paramref name="max"/>.</summary>
    public long? Integer(JsonElement value, string path, long min, long max)
    {
        var range = $"a whole number from {min} to {max}";
        if (value.ValueKind != JsonValueKind.Number)
        {
            Error(path, $"must be {range}, not {SpecText.Describe(value.ValueKind)}");
            return null;
        }
        if (!value.TryGetInt64(out var number) || number < min || number > max)
        {
            Error(path, $"{SpecText.Show(value)} is not allowed; use {range}");
            return null;
        }
        return number;
    }

    /// <summary>One of a fixed set of words, matched case-sensitively.</summary>
    public string? Choice(JsonElement value, string path, IReadOnlyList<string> choices, string what)
    {
        var quoted = SpecText.OneOf([.. choices.Select(SpecText.Quote)]);
        var text = Text(value, path, int.MaxValue, quoted);
        if (text is null) return null;
        if (choices.Contains(text)) return text;
        var near = choices.FirstOrDefault(c => string.Equals(c, text, StringComparison.OrdinalIgnoreCase));
        Error(path, near is null
            ? $"{SpecText.Quote(text)} is not {what}; use {quoted}"
            : $"{SpecText.Quote(text)} is not {what}; write {SpecText.Quote(near)} (values are case-sensitive)");
        return null;
    }

    private static string UnknownField(string name, IReadOnlyList<string> allowed)
    {
        var near = allowed.FirstOrDefault(a => string.Equals(a, name, StringComparison.OrdinalIgnoreCase));
        var hint = near is null ? "" : $"did you mean {SpecText.Quote(near)}? Field names are case-sensitive. ";
        return $"is not a known field; {hint}allowed fields here: {string.Join(", ", allowed)}";
    }
}
