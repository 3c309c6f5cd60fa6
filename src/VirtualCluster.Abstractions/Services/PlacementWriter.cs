using System.Text.Json;

namespace VirtualCluster;

/// <summary>Writes the "placement" section of a spec; fields at their default are left out, and the section too when all are.</summary>
internal static class PlacementWriter
{
    public static void Write(Utf8JsonWriter writer, PlacementSpec placement)
    {
        var strategy = placement.Strategy != PlacementStrategyNames.BinPack;
        var constraints = placement.Constraints.Count > 0 || placement.LabelExists.Count > 0;
        var antiAffinity = placement.AntiAffinity != AntiAffinityMode.Preferred;
        if (!strategy && !constraints && !antiAffinity && placement.Affinity.Count == 0 && placement.TopologySpread.Count == 0) return;

        writer.WriteStartObject("placement");
        if (strategy) writer.WriteString("strategy", placement.Strategy);
        if (constraints) WriteConstraints(writer, placement);
        if (placement.Affinity.Count > 0)
        {
            writer.WriteStartArray("affinity");
            foreach (var affinity in placement.Affinity)
            {
                writer.WriteStartObject();
                writer.WriteString("key", affinity.Key);
                writer.WriteString("value", affinity.Value);
                writer.WriteNumber("weight", affinity.Weight);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        if (antiAffinity) writer.WriteString("antiAffinity", placement.AntiAffinity == AntiAffinityMode.None ? "none" : "required");
        if (placement.TopologySpread.Count > 0)
        {
            writer.WriteStartArray("topologySpread");
            foreach (var spread in placement.TopologySpread)
            {
                writer.WriteStartObject();
                writer.WriteString("key", spread.Key);
                writer.WriteNumber("maxSkew", spread.MaxSkew);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }

    /// <summary>Equality and existence constraints share one object, sorted by key so equal specs give equal text.</summary>
    private static void WriteConstraints(Utf8JsonWriter writer, PlacementSpec placement)
    {
        writer.WriteStartObject("constraints");
        var keys = placement.Constraints.Keys.Concat(placement.LabelExists.Keys).Distinct().Order(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (placement.Constraints.TryGetValue(key, out var value))
            {
                writer.WriteString(key, value);
            }
            else
            {
                writer.WriteStartObject(key);
                writer.WriteBoolean("exists", placement.LabelExists[key]);
                writer.WriteEndObject();
            }
        }
        writer.WriteEndObject();
    }
}
