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

    // Secret values reach only the agent running the instance, as environment variables; the control plane stores
    // them encrypted and never shows them. Same names rules as env, and a name is either one or the other.
    private Dictionary<string, string> ReadSecrets(Dictionary<string, JsonElement> fields, Dictionary<string, string> env)
    {
        var secrets = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!fields.TryGetValue("secrets", out var value)) return secrets;
        var entries = reader.Entries(value, "secrets", "{\"DB_PASSWORD\": \"...\"}");
        if (entries is null) return secrets;
        if (entries.Count + env.Count > MaxEnv)
        {
            reader.Error("secrets", $"env and secrets have {entries.Count + env.Count} variables together; at most {MaxEnv} are allowed");
            return secrets;
        }
        foreach (var (name, item) in entries)
        {
            var path = SpecPath.Field("secrets", name);
            var problem = EnvNameProblem(name) ?? (env.Keys.Any(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase))
                ? $"{SpecText.Quote(name)} is also in env; a variable is either in env or in secrets, not both" : null);
            if (problem is not null) reader.Error(path, problem);
            // The value is never echoed in an error: the example says what shape is wanted.
            var text = reader.Text(item, path, MaxEnvValue, "\"the value\"", allowEmpty: false);
            if (problem is null && text is not null) secrets[name] = text;
        }
        return secrets;
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
