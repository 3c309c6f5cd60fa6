using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VirtualCluster.Api;

namespace VirtualCluster.Agent.Connection;

/// <summary>A control-plane call that failed with an answer (not a network error).</summary>
public sealed class ControlPlaneRejectedException(HttpStatusCode status, string message) : Exception(message)
{
    /// <summary>HTTP status of the answer.</summary>
    public HttpStatusCode Status { get; } = status;
}

/// <summary>The agent's side of the /v1 API. Agents only ever dial out.</summary>
internal sealed class ControlPlaneClient(HttpClient http)
{
    public async Task<JoinResponse> JoinAsync(JoinRequest request, CancellationToken ct)
    {
        using var response = await http.PostAsJsonAsync("v1/join", request, VirtualClusterJson.Options, ct);
        return await ReadAsync<JoinResponse>(response, ct);
    }

    public async Task<HeartbeatResponse> HeartbeatAsync(AgentIdentity identity, HeartbeatRequest request, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, $"v1/nodes/{Uri.EscapeDataString(identity.NodeId)}/heartbeat")
        {
            // Serialized first and sent with a Content-Length: JsonContent streams the body with chunked encoding, which
            // costs a second write per heartbeat (a second TLS record, a second wake-up on the control plane);
            // docs/benchmarks.md, "TLS on the control plane's hot paths".
            Content = new ByteArrayContent(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(request, VirtualClusterJson.Options))
            {
                Headers = { ContentType = new("application/json") { CharSet = "utf-8" } },
            },
        };
        message.Headers.Authorization = new("Bearer", identity.Token);
        using var response = await http.SendAsync(message, ct);
        return await ReadAsync<HeartbeatResponse>(response, ct);
    }

    /// <summary>Asks the control plane to drain this node (before a graceful shutdown).</summary>
    public async Task<DrainStatus> DrainAsync(AgentIdentity identity, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, $"v1/nodes/{Uri.EscapeDataString(identity.NodeId)}/drain");
        message.Headers.Authorization = new("Bearer", identity.Token);
        using var response = await http.SendAsync(message, ct);
        return await ReadAsync<DrainStatus>(response, ct);
    }

    /// <summary>The cluster's STUN/TURN servers for peer links (GET /v1/p2p/config).</summary>
    public async Task<P2PConfig> P2PConfigAsync(AgentIdentity identity, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, "v1/p2p/config");
        message.Headers.Authorization = new("Bearer", identity.Token);
        using var response = await http.SendAsync(message, ct);
        return await ReadAsync<P2PConfig>(response, ct);
    }

    /// <summary>The names of the services deployed in the cluster (GET /v1/service-names).</summary>
    public async Task<List<string>> ServiceNamesAsync(AgentIdentity identity, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, "v1/service-names");
        message.Headers.Authorization = new("Bearer", identity.Token);
        using var response = await http.SendAsync(message, ct);
        return await ReadAsync<List<string>>(response, ct);
    }

    /// <summary>Asks whether a token a peer presented to the replica server is a machine token of this cluster.</summary>
    public async Task<ReplicaTokenAnswer> VerifyReplicaTokenAsync(AgentIdentity identity, string token, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, "v1/replication/verify")
        {
            Content = JsonContent.Create(new ReplicaTokenCheck(token), options: VirtualClusterJson.Options),
        };
        message.Headers.Authorization = new("Bearer", identity.Token);
        using var response = await http.SendAsync(message, ct);
        return await ReadAsync<ReplicaTokenAnswer>(response, ct);
    }

    /// <summary>The replica ids this node must keep (GET /v1/replication/keep); any other replica it holds may be collected.</summary>
    public async Task<ReplicaKeepAnswer> ReplicasToKeepAsync(AgentIdentity identity, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, "v1/replication/keep");
        message.Headers.Authorization = new("Bearer", identity.Token);
        using var response = await http.SendAsync(message, ct);
        return await ReadAsync<ReplicaKeepAnswer>(response, ct);
    }

    /// <summary>Tells the control plane this node leaves on purpose (Left, not Down).</summary>
    public async Task LeaveAsync(AgentIdentity identity, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, $"v1/nodes/{Uri.EscapeDataString(identity.NodeId)}/leave");
        message.Headers.Authorization = new("Bearer", identity.Token);
        using var response = await http.SendAsync(message, ct);
        await ReadAsync<NodeInfo>(response, ct);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            string message;
            try
            {
                message = JsonSerializer.Deserialize<ApiError>(text, VirtualClusterJson.Options)?.Error ?? text;
            }
            catch (JsonException)
            {
                message = text.Length > 200 ? text[..200] : text;
            }
            throw new ControlPlaneRejectedException(response.StatusCode, $"{(int)response.StatusCode}: {message}");
        }
        try
        {
            return JsonSerializer.Deserialize<T>(text, VirtualClusterJson.Options)
                ?? throw new ControlPlaneRejectedException(response.StatusCode, "empty answer from the control plane");
        }
        catch (JsonException e)
        {
            throw new ControlPlaneRejectedException(response.StatusCode, $"unreadable answer from the control plane: {e.Message}");
        }
    }
}
