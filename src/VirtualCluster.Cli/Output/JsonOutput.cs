using System.Text.Json;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Output;

/// <summary>Writes API objects as indented JSON, in the same shape the API uses.</summary>
internal static class JsonOutput
{
    private static readonly JsonSerializerOptions Indented = new(VirtualClusterJson.Options) { WriteIndented = true };

    public static void Write<T>(TextWriter writer, T value) => writer.WriteLine(JsonSerializer.Serialize(value, Indented));
}
