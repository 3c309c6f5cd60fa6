using System.Net;
using System.Net.Http.Json;

namespace VirtualCluster.Membership.Consul.Client;

// The local agent's service and check endpoints, and the health endpoint.
public sealed partial class ConsulClient
{
    /// <summary>PUT /v1/agent/service/register: registers (or replaces) a service instance with its TTL check.</summary>
    public async Task AgentServiceRegisterAsync(ConsulServiceRegistration registration, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, "v1/agent/service/register")
        {
            Content = JsonContent.Create(registration, options: Json),
        }, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw await ErrorAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>PUT /v1/agent/service/deregister/{id} (no-op when unknown).</summary>
    public async Task AgentServiceDeregisterAsync(string serviceId, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, $"v1/agent/service/deregister/{Uri.EscapeDataString(serviceId)}"),
            cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.NotFound) throw await ErrorAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>PUT /v1/agent/check/pass/{id}: marks a TTL check passing and restarts its TTL. False when the check is unknown.</summary>
    public async Task<bool> AgentCheckPassAsync(string checkId, string note, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put,
            $"v1/agent/check/pass/{Uri.EscapeDataString(checkId)}?note={Uri.EscapeDataString(note)}"), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.NotFound) return false;
        if (response.StatusCode is HttpStatusCode.InternalServerError
            && (await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)) is var text
            && (text.Contains("unknown", StringComparison.OrdinalIgnoreCase) || text.Contains("not found", StringComparison.OrdinalIgnoreCase)))
            return false; // Older agents answer 500 "Unknown check".
        if (!response.IsSuccessStatusCode) throw await ErrorAsync(response, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>PUT /v1/agent/check/update/{id}: sets a TTL check's status and output. False when the check is unknown.</summary>
    public async Task<bool> AgentCheckUpdateAsync(string checkId, ConsulCheckUpdate update, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, $"v1/agent/check/update/{Uri.EscapeDataString(checkId)}")
        {
            Content = JsonContent.Create(update, options: Json),
        }, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.NotFound) return false;
        if (!response.IsSuccessStatusCode) throw await ErrorAsync(response, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>GET /v1/agent/checks: the local agent's checks by id.</summary>
    public async Task<Dictionary<string, ConsulHealthCheck>> AgentChecksAsync(CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, "v1/agent/checks"), cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw await ErrorAsync(response, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync<Dictionary<string, ConsulHealthCheck>>(Json, cancellationToken).ConfigureAwait(false) ?? [];
    }

    /// <summary>
    /// GET /v1/health/service/{name}: every instance with its checks (all states). With <paramref name="index"/>, a
    /// blocking query that returns when the instances or their checks change (or the wait ends).
    /// </summary>
    public async Task<ConsulResult<List<ConsulServiceEntry>>> HealthServiceAsync(string service, long? index = null, CancellationToken cancellationToken = default)
    {
        var query = Blocking(index, _options.BlockingWait);
        var (entries, resultIndex) = await GetListAsync<ConsulServiceEntry>($"v1/health/service/{Uri.EscapeDataString(service)}{(query.Length > 0 ? "?" + query : "")}",
            index is > 0, cancellationToken).ConfigureAwait(false);
        return new ConsulResult<List<ConsulServiceEntry>>(entries, resultIndex);
    }
}
