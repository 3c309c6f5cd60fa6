using System.Text.Json;

namespace VirtualCluster;

internal sealed partial class ServiceSpecReader
{
    public const int MaxEnv = 256;
    public const int MaxConstraints = 64;
    public const int MaxLabel = 253;

    // Windows limits one environment variable to 32,767 characters.
    public const int MaxEnvValue = 32_767;

    private Dictionary<string, string> ReadEnv(Dictionary<string, JsonElement> fields)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!fields.TryGetValue("env", out var value)) return env;
        var entries = reader.Entries(value, "env", "{\"LOG_LEVEL\": \"info\"}");
        if (entries is null) return env;
        if (entries.Count > MaxEnv)
        {
            reader.Error("env", $"has {entries.Count} variables; at most {MaxEnv} are allowed");
            return env;
        }
        foreach (var (name, item) in entries)
        {
            var path = SpecPath.Field("env", name);
            var problem = EnvNameProblem(name);
            if (problem is not null) reader.Error(path, problem);
            var text = reader.Text(item, path, MaxEnvValue, "\"info\"", allowEmpty: true);
            if (problem is null && text is not null) env[name] = text;
        }
        return env;
    }

    private static string? EnvNameProblem(string name)
    {
        if (!SpecRules.IsVariableName(name))
        {
            return $"{SpecText.Quote(name)} is not a valid variable name; use letters, digits and '_', not starting with a digit, e.g. \"LOG_LEVEL\"";
        }
        // Compared ignoring case: on Windows "Port" and "PORT" are the same variable.
        if (name.StartsWith("VC_", StringComparison.OrdinalIgnoreCase))
        {
            return $"{SpecText.Quote(name)} is reserved: VirtualCluster sets the variables starting with \"VC_\"; pick another name";
        }
        if (string.Equals(name, "PORT", StringComparison.OrdinalIgnoreCase))
        {
            return $"{SpecText.Quote(name)} is reserved: VirtualCluster sets it to the instance's assigned port; pick another name";
        }
        return null;
    }
}
