using VirtualCluster.Api;

namespace VirtualCluster.Gateway.Tls;

/// <summary>
/// Where gateways share certificates, so each name is ordered once for the whole cluster: the control plane's
/// cluster store (<see cref="ControlPlaneCertificateStore"/>) for a standalone gateway. Every method throws
/// <see cref="HttpRequestException"/> when the store cannot be reached; the gateway then works alone (local cache,
/// its own orders) until it can.
/// </summary>
public interface IGatewayCertificateStore
{
    /// <summary>The stored certificate for <paramref name="name"/>, or null when there is none.</summary>
    Task<StoredCertificate?> GetAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Stores a certificate; false when the store holds one that lasts as long or longer (keep serving that one).</summary>
    Task<bool> PutAsync(StoredCertificate certificate, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes the right to order <paramref name="name"/> for <paramref name="lease"/> (atomic: of gateways asking at
    /// once, one gets it); false when another holder has it. <see cref="TimeSpan.Zero"/> releases it.
    /// </summary>
    Task<bool> TryLeaseAsync(string name, string holder, TimeSpan lease, CancellationToken cancellationToken = default);

    /// <summary>The cluster's ACME account key: <paramref name="offeredPem"/> when none was stored yet, else the stored one.</summary>
    Task<string> AccountKeyAsync(string offeredPem, CancellationToken cancellationToken = default);
}

/// <summary>The cluster store, through the control plane's <c>/v1/gateway-store</c> API with the gateway's admin token.</summary>
internal sealed class ControlPlaneCertificateStore(ControlPlaneReader reader, Microsoft.Extensions.Options.IOptions<GatewayOptions> options) : IGatewayCertificateStore
{
    private string? Token => options.Value.ControlPlaneToken;

    public async Task<StoredCertificate?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        var (value, status) = await reader.GetAsync<StoredCertificate>($"v1/gateway-store/certificates/{Uri.EscapeDataString(name)}", Token, cancellationToken).ConfigureAwait(false);
        return value ?? (status == 404 ? null : throw new HttpRequestException($"GET certificate {name}: the control plane answered {status}"));
    }

    public async Task<bool> PutAsync(StoredCertificate certificate, CancellationToken cancellationToken = default)
    {
        var (_, status) = await reader.SendAsync<object>(HttpMethod.Put, $"v1/gateway-store/certificates/{Uri.EscapeDataString(certificate.Name)}", certificate, Token, cancellationToken).ConfigureAwait(false);
        return status == 200 ? true : status == 409 ? false : throw new HttpRequestException($"PUT certificate {certificate.Name}: the control plane answered {status}");
    }

    public async Task<bool> TryLeaseAsync(string name, string holder, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        var (value, status) = await reader.PostAsync<OrderLease>($"v1/gateway-store/leases/{Uri.EscapeDataString(name)}",
            new OrderLeaseRequest(holder, (int)lease.TotalSeconds), Token, cancellationToken).ConfigureAwait(false);
        return value?.Granted ?? throw new HttpRequestException($"order lease {name}: the control plane answered {status}");
    }

    public async Task<string> AccountKeyAsync(string offeredPem, CancellationToken cancellationToken = default)
    {
        var (value, status) = await reader.PostAsync<StoredAccountKey>("v1/gateway-store/account", new StoredAccountKey(offeredPem), Token, cancellationToken).ConfigureAwait(false);
        return value?.PrivateKeyPem ?? throw new HttpRequestException($"ACME account key: the control plane answered {status}");
    }
}
