using System.Text.Json;

namespace VirtualCluster;

internal sealed partial class ServiceSpecReader
{
    public const int MaxAffinities = 16;
    public const int MaxTopologySpreads = 4;
    public const int MaxSkewLimit = 1000;

    private const string ConstraintsExample = "{\"zone\": \"eu-1\", \"gpu\": {\"exists\": true}}";
    private const string AffinityExample = "[{\"key\": \"disk\", \"value\": \"ssd\", \"weight\": 50}]";
    private const string SpreadExample = "[{\"key\": \"zone\", \"maxSkew\": 1}]";

    private static readonly string[] PlacementFields = ["strategy", "constraints", "affinity", "antiAffinity", "topologySpread"];
    private static readonly string[] AffinityFields = ["key", "value", "weight"];
    private static readonly string[] SpreadFields = ["key", "maxSkew"];
    private static readonly string[] ExistsFields = ["exists"];

    private PlacementSpec ReadPlacement(Dictionary<string, JsonElement> fields)
    {
        if (!fields.TryGetValue("placement", out var value)) return PlacementSpec.None;
        var placement = reader.Fields(value, "placement", PlacementFields, "{\"strategy\": \"spread\", \"constraints\": {\"zone\": \"eu-1\"}}");
        if (placement is null) return PlacementSpec.None;
        var strategy = placement.TryGetValue("strategy", out var s)
            ? reader.Choice(s, "placement.strategy", PlacementStrategyNames.All, "a placement strategy") ?? PlacementStrategyNames.BinPack
            : PlacementStrategyNames.BinPack;
        var (equal, exists) = placement.TryGetValue("constraints", out var c) ? ReadConstraints(c) : ([], []);
        var antiAffinity = placement.TryGetValue("antiAffinity", out var a)
            ? reader.Choice(a, "placement.antiAffinity", ["none", "preferred", "required"], "an anti-affinity mode") switch
            {
                "none" => AntiAffinityMode.None,
                "required" => AntiAffinityMode.Required,
                _ => AntiAffinityMode.Preferred,
            }
            : AntiAffinityMode.Preferred;
        return new PlacementSpec(equal)
        {
            Strategy = strategy,
            LabelExists = exists,
            Affinity = placement.TryGetValue("affinity", out var f) ? ReadAffinity(f) : [],
            AntiAffinity = antiAffinity,
            TopologySpread = placement.TryGetValue("topologySpread", out var t) ? ReadTopologySpread(t) : [],
        };
    }

    /// <summary>Each constraint is a label value to match exactly, or <c>{"exists": true|false}</c>.</summary>
    private (Dictionary<string, string> Equal, Dictionary<string, bool> Exists) ReadConstraints(JsonElement value)
    {
        var equal = new Dictionary<string, string>(StringComparer.Ordinal);
        var exists = new Dictionary<string, bool>(StringComparer.Ordinal);
        var entries = reader.Entries(value, "placement.constraints", ConstraintsExample);
        if (entries is null) return (equal, exists);
        if (entries.Count > MaxConstraints)
        {
            reader.Error("placement.constraints", $"has {entries.Count} constraints; at most {MaxConstraints} are allowed");
            return (equal, exists);
        }
        foreach (var (key, item) in entries)
        {
            var path = SpecPath.Field("placement.constraints", key);
            var keyOk = LabelKey(key, path);
            if (item.ValueKind == JsonValueKind.Object)
            {
                var rule = reader.Fields(item, path, ExistsFields, "{\"exists\": true}");
                if (rule is null) continue;
                if (!rule.TryGetValue("exists", out var e))
                    reader.Error(path, "an object constraint needs \"exists\": true (the label must be present) or false (absent)");
                else if (e.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    reader.Error(SpecPath.Field(path, "exists"), $"must be true or false, not {SpecText.Describe(e.ValueKind)}");
                else if (keyOk) exists[key] = e.GetBoolean();
                continue;
            }
            var label = reader.Text(item, path, MaxLabel, "\"eu-1\" or {\"exists\": true}", allowEmpty: true);
            if (keyOk && label is not null) equal[key] = label;
        }
        return (equal, exists);
    }

    private IReadOnlyList<NodeAffinity> ReadAffinity(JsonElement value)
    {
        var items = reader.Array(value, "placement.affinity", MaxAffinities, AffinityExample);
        if (items is null) return [];
        var result = new List<NodeAffinity>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var path = SpecPath.Item("placement.affinity", i);
            var entry = reader.Fields(items[i], path, AffinityFields, "{\"key\": \"disk\", \"value\": \"ssd\", \"weight\": 50}");
            if (entry is null) continue;
            var key = RequiredLabelKey(entry, path);
            var label = entry.TryGetValue("value", out var v)
                ? reader.Text(v, SpecPath.Field(path, "value"), MaxLabel, "\"ssd\"", allowEmpty: true)
                : Missing<string>(path, "value", "the label value to prefer, e.g. \"ssd\"");
            var weight = entry.TryGetValue("weight", out var w) ? reader.Integer(w, SpecPath.Field(path, "weight"), -100, 100) : 50;
            if (weight == 0) reader.Error(SpecPath.Field(path, "weight"), "0 has no effect; use 1 to 100 to prefer such nodes or -1 to -100 to avoid them");
            if (key is not null && label is not null && weight is { } wt and not 0) result.Add(new NodeAffinity(key, label, (int)wt));
        }
        return result;
    }

    private IReadOnlyList<TopologySpread> ReadTopologySpread(JsonElement value)
    {
        var items = reader.Array(value, "placement.topologySpread", MaxTopologySpreads, SpreadExample);
        if (items is null) return [];
        var result = new List<TopologySpread>(items.Count);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            var path = SpecPath.Item("placement.topologySpread", i);
            var entry = reader.Fields(items[i], path, SpreadFields, "{\"key\": \"zone\", \"maxSkew\": 1}");
            if (entry is null) continue;
            var key = RequiredLabelKey(entry, path);
            var skew = entry.TryGetValue("maxSkew", out var m) ? reader.Integer(m, SpecPath.Field(path, "maxSkew"), 1, MaxSkewLimit) : 1;
            if (key is not null && !keys.Add(key))
                reader.Error(SpecPath.Field(path, "key"), $"{SpecText.Quote(key)} is listed twice; keep one entry per label key");
            else if (key is not null && skew is { } s) result.Add(new TopologySpread(key, (int)s));
        }
        return result;
    }

    private string? RequiredLabelKey(Dictionary<string, JsonElement> entry, string path)
    {
        if (!entry.TryGetValue("key", out var k)) return Missing<string>(path, "key", "a node label key, e.g. \"zone\"");
        var key = reader.Text(k, SpecPath.Field(path, "key"), MaxLabel, "\"zone\"");
        return key is not null && LabelKey(key, SpecPath.Field(path, "key")) ? key : null;
    }

    private bool LabelKey(string key, string path)
    {
        if (key.Length is > 0 and <= MaxLabel) return true;
        reader.Error(path, $"label keys must be 1 to {MaxLabel} characters long; name a node label like \"zone\"");
        return false;
    }

    private T? Missing<T>(string path, string field, string what) where T : class
    {
        reader.Error(SpecPath.Field(path, field), $"is required; give {what}");
        return null;
    }
}
