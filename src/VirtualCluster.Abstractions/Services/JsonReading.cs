using System.Text.Json;

namespace VirtualCluster;

/// <summary>Reads strings from a <see cref="JsonDocument"/> without throwing.</summary>
internal static class JsonReading
{
    // JsonDocument accepts "\uD800" (an unpaired surrogate escape) while parsing but throws when the
    // string is decoded; the parser promises never to throw, so decoding goes through these.

    public static bool TryGetString(JsonElement value, out string text)
    {
        try
        {
            text = value.GetString() ?? "";
            return true;
        }
        catch (InvalidOperationException)
        {
            text = "";
            return false;
        }
    }

    public static bool TryGetName(JsonProperty property, out string name)
    {
        try
        {
            name = property.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            name = "";
            return false;
        }
    }
}
