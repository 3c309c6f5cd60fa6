using System.CommandLine.Parsing;
using System.Globalization;

namespace VirtualCluster.Cli;

/// <summary>Durations as users type them: "1500ms", "30s", "2m", "1h"; a bare number means seconds.</summary>
internal static class Duration
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        text = text.Trim();
        var (number, unit) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) => (text[..^2], 1.0),
            _ when text.EndsWith('s') || text.EndsWith('S') => (text[..^1], 1000.0),
            _ when text.EndsWith('m') || text.EndsWith('M') => (text[..^1], 60_000.0),
            _ when text.EndsWith('h') || text.EndsWith('H') => (text[..^1], 3_600_000.0),
            _ => (text, 1000.0),
        };
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)) return false;
        var milliseconds = amount * unit;
        // A day is far beyond any sensible wait and keeps the value clear of TimeSpan and timer limits.
        if (milliseconds <= 0 || milliseconds > TimeSpan.FromDays(1).TotalMilliseconds) return false;
        value = TimeSpan.FromMilliseconds(milliseconds);
        return true;
    }

    /// <summary>Short form for messages: "500ms", "120s", "15m", "12h".</summary>
    public static string Format(TimeSpan value) => value switch
    {
        { TotalSeconds: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{value.TotalMilliseconds:0}ms"),
        { TotalMinutes: < 10 } => string.Create(CultureInfo.InvariantCulture, $"{value.TotalSeconds:0.#}s"),
        { TotalHours: < 10 } => string.Create(CultureInfo.InvariantCulture, $"{value.TotalMinutes:0.#}m"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{value.TotalHours:0.#}h"),
    };

    /// <summary>Option parser: reports a usage error (exit 2) for values that are not a positive duration.</summary>
    public static TimeSpan ParseOption(ArgumentResult result, TimeSpan fallback)
    {
        if (result.Tokens.Count == 0) return fallback;
        var text = result.Tokens[0].Value;
        if (TryParse(text, out var value)) return value;
        result.AddError($"invalid duration '{text}' for {OptionName(result)}: use a positive value such as 30s, 2m or 1500ms (at most 24h)");
        return fallback;
    }

    private static string OptionName(ArgumentResult result) =>
        result.Parent is OptionResult option ? option.Option.Name : "the duration";
}
