namespace VirtualCluster.Cli;

internal static class EnvironmentExtensions
{
    /// <summary>The variable's value, or null when it is unset or blank (an empty variable means "not set").</summary>
    public static string? NonEmpty(this IReadOnlyDictionary<string, string?> environment, string name) =>
        environment.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    /// <summary>A snapshot of the process environment.</summary>
    public static IReadOnlyDictionary<string, string?> FromProcess()
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
            result[(string)entry.Key] = entry.Value as string;
        return result;
    }
}
