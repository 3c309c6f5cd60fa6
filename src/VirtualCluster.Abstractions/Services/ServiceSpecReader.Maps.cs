using System.Text.Json;

namespace VirtualCluster;

internal sealed partial class ServiceSpecReader
{
    public const int MaxEnv = 256;
    public const int MaxConstraints = 64;
    public const int MaxLabel = 253;

    // Windows limits one environment variable to 32,767 characters.
    public const int MaxEnvValue = 32_767;

    private static readonly string[] PlacementFields = ["constraints"];

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

    private PlacementSpec ReadPlacement(Dictionary<string, JsonElement> fields)
    {
        if (!fields.TryGetValue("placement", out var value)) return PlacementSpec.None;
        var placement = reader.Fields(value, "placement", PlacementFields, "{\"constraints\": {\"zone\": \"eu-1\"}}");
        if (placement is null || !placement.TryGetValue("constraints", out var c)) return PlacementSpec.None;
        var entries = reader.Entries(c, "placement.constraints", "{\"zone\": \"eu-1\"}");
        if (entries is null) return PlacementSpec.None;
        if (entries.Count > MaxConstraints)
        {
            reader.Error("placement.constraints", $"has {entries.Count} constraints; at most {MaxConstraints} are allowed");
            return PlacementSpec.None;
        }
        var constraints = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, item) in entries)
        {
            var path = SpecPath.Field("placement.constraints", key);
            var keyOk = key.Length is > 0 and <= MaxLabel;
            if (!keyOk) reader.Error(path, $"label keys must be 1 to {MaxLabel} characters long; name a node label like \"zone\"");
            var label = reader.Text(item, path, MaxLabel, "\"eu-1\"", allowEmpty: true);
            if (keyOk && label is not null) constraints[key] = label;
        }
        return new PlacementSpec(constraints);
    }
}
