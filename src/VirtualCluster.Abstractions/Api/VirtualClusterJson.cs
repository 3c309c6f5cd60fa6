using System.Text.Json;
using System.Text.Json.Serialization;

namespace VirtualCluster.Api;

/// <summary>JSON settings shared by every party of the HTTP API: camelCase names, enums as camelCase strings.</summary>
public static class VirtualClusterJson
{
    /// <summary>Options for API bodies and stored records.</summary>
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            WriteIndented = false,
            MaxDepth = 32,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
