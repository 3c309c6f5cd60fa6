using System.Text.Json;

namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>One row of the gateway's GET /v1/gateway/links: how it reaches a node now and what went over the link.</summary>
internal sealed record GatewayLink(string Node, string Path, string State, long BytesSent, long BytesReceived, long Dials, long TunnelDials, string? LastError)
{
    public static GatewayLink From(JsonElement e) => new(
        e.GetProperty("node").GetString()!, e.GetProperty("path").GetString()!, e.GetProperty("state").GetString()!,
        e.GetProperty("bytesSent").GetInt64(), e.GetProperty("bytesReceived").GetInt64(),
        e.TryGetProperty("dials", out var d) ? d.GetInt64() : 0, e.TryGetProperty("tunnelDials", out var t) ? t.GetInt64() : 0,
        e.TryGetProperty("lastError", out var error) && error.ValueKind == JsonValueKind.String ? error.GetString() : null);
}
