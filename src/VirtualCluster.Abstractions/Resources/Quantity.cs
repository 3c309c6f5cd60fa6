using System.Globalization;

namespace VirtualCluster;

/// <summary>
/// Parses and formats resource quantities the way Kubernetes users write them:
/// CPU as cores ("0.5", "2") or millicores ("250m"); bytes with binary ("64Mi", "1Gi") or decimal ("500M") suffixes.
/// </summary>
public static class Quantity
{
    private static readonly (string Suffix, long Factor)[] ByteSuffixes =
    [
        ("Ki", 1L << 10), ("Mi", 1L << 20), ("Gi", 1L << 30), ("Ti", 1L << 40),
        ("k", 1_000), ("K", 1_000), ("M", 1_000_000), ("G", 1_000_000_000), ("T", 1_000_000_000_000),
        ("B", 1),
    ];

    /// <summary>Parses CPU: "250m" → 250, "0.5" → 500, "2" → 2000. Rejects negatives and more than 1,000,000 cores.</summary>
    public static bool TryParseCpu(string? text, out long millicores)
    {
        millicores = 0;
        if (string.IsNullOrWhiteSpace(text)) return false;
        text = text.Trim();
        if (text.EndsWith('m'))
        {
            return long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out millicores)
                && millicores <= 1_000_000_000;
        }
        if (!decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var cores) || cores > 1_000_000)
            return false;
        millicores = (long)Math.Round(cores * 1000m);
        return true;
    }

    /// <summary>Parses a byte quantity: "64Mi", "1.5Gi", "500M", "1024". Rejects negatives and values past 2^62.</summary>
    public static bool TryParseBytes(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text)) return false;
        text = text.Trim();
        long factor = 1;
        foreach (var (suffix, f) in ByteSuffixes)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal))
            {
                factor = f;
                text = text[..^suffix.Length];
                break;
            }
        }
        if (!decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)) return false;
        // Compare before multiplying: decimal overflows on absurd inputs instead of saturating.
        if (value > (1L << 62) / (decimal)factor) return false;
        var total = value * factor;
        bytes = (long)Math.Round(total);
        return true;
    }

    /// <summary>Formats bytes with a binary suffix, e.g. "3.5 GiB".</summary>
    public static string FormatBytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double value = bytes;
        var unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.#} {units[unit]}");
    }

    /// <summary>Formats millicores as cores, e.g. 1500 → "1.5 cores", 250 → "250m".</summary>
    public static string FormatCpu(long millicores) =>
        millicores == 1000 ? "1 core"
        : millicores % 1000 == 0 || millicores >= 1000
            ? string.Create(CultureInfo.InvariantCulture, $"{millicores / 1000.0:0.##} cores")
            : string.Create(CultureInfo.InvariantCulture, $"{millicores}m");
}
