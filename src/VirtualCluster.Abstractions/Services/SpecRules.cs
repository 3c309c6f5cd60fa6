using System.Globalization;

namespace VirtualCluster;

/// <summary>Format rules for names, variables, paths and durations in a service spec.</summary>
internal static class SpecRules
{
    public const int MaxDnsLabel = 63;

    public const string DnsLabelHelp =
        "use 1 to 63 lowercase letters, digits and '-', starting with a letter and not ending with '-'";

    public static readonly TimeSpan MinDuration = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxDuration = TimeSpan.FromHours(1);

    /// <summary>Why <paramref name="text"/> is not a DNS label, or null when it is one.</summary>
    public static string? DnsLabelProblem(string text)
    {
        if (text.Length == 0) return "is empty";
        if (text.Length > MaxDnsLabel) return $"is {text.Length} characters long";
        if (text.Any(char.IsAsciiLetterUpper)) return "contains uppercase letters";
        var bad = text.FirstOrDefault(c => !char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c) && c != '-');
        if (bad != default) return $"contains {SpecText.Quote(bad.ToString())}";
        if (!char.IsAsciiLetterLower(text[0])) return "does not start with a letter";
        if (text[^1] == '-') return "ends with '-'";
        return null;
    }

    /// <summary>True for [A-Za-z_][A-Za-z0-9_]*.</summary>
    public static bool IsVariableName(string text) =>
        text.Length > 0
        && (char.IsAsciiLetter(text[0]) || text[0] == '_')
        && text.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    /// <summary>
    /// True for "/..." and Windows drive paths ("C:\..." or "C:/..."). Decided by the text alone, not by the
    /// machine that parses it, because the spec may be parsed on one OS and run on another.
    /// </summary>
    public static bool IsAbsolutePath(string text) =>
        text.StartsWith('/')
        || (text.Length >= 3 && char.IsAsciiLetter(text[0]) && text[1] == ':' && text[2] is '/' or '\\');

    /// <summary>
    /// Parses "500ms", "2s", "1.5m", "1h" into milliseconds (not range-checked, so callers can say "too long"
    /// instead of "not a duration"). Fractions that do not come to whole milliseconds are rejected.
    /// </summary>
    public static bool TryParseMilliseconds(string text, out long milliseconds)
    {
        milliseconds = 0;
        var (number, factor) =
            text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 1m)
            : text.EndsWith('s') ? (text[..^1], 1_000m)
            : text.EndsWith('m') ? (text[..^1], 60_000m)
            : text.EndsWith('h') ? (text[..^1], 3_600_000m)
            : ("", 0m);
        // Twelve characters at most keeps hours * 3,600,000 well inside decimal and long.
        if (number.Length is 0 or > 12 || !char.IsAsciiDigit(number[0]) || !char.IsAsciiDigit(number[^1])) return false;
        if (!decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)) return false;
        var total = value * factor;
        if (total != decimal.Truncate(total)) return false;
        milliseconds = (long)total;
        return true;
    }

    /// <summary>Formats a duration in the largest unit that divides it: "2s", "500ms", "1m", "1h".</summary>
    public static string FormatDuration(TimeSpan duration)
    {
        var ms = duration.Ticks / TimeSpan.TicksPerMillisecond;
        (long Size, string Unit)[] units = [(3_600_000, "h"), (60_000, "m"), (1_000, "s")];
        foreach (var (size, unit) in units)
        {
            if (ms != 0 && ms % size == 0) return string.Create(CultureInfo.InvariantCulture, $"{ms / size}{unit}");
        }
        return string.Create(CultureInfo.InvariantCulture, $"{ms}ms");
    }
}
