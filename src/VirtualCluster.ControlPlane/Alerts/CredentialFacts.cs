using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VirtualCluster.ControlPlane.Keys;
using VirtualCluster.ControlPlane.Tls;

namespace VirtualCluster.ControlPlane.Alerts;

/// <summary>A certificate or key the cluster depends on, with the date that matters for it.</summary>
/// <param name="Kind">"certificate" or "signing-key".</param>
/// <param name="Name">Which one: "cluster-ca", "control-plane", "gateway/&lt;name&gt;", or a signing key's id.</param>
/// <param name="Due">When the certificate expires, or when the key should have been replaced.</param>
/// <param name="Window">How long before <paramref name="Due"/> a certificate's rule starts to fire (zero for keys: they fire once overdue).</param>
/// <param name="What">Readable name for the alert's text.</param>
internal sealed record AlertCredential(string Kind, string Name, DateTimeOffset Due, TimeSpan Window, string What);

/// <summary>
/// Dates of the cluster CA, this control plane's server certificate, the gateways' stored certificates and the token
/// signing key, for the alert rules;
/// read at most once a minute (the key's publication needs a store read). A host without TLS or keys has none.
/// </summary>
internal sealed class CredentialFacts(IServiceProvider? services, AlertOptions options, TimeProvider time)
{
    private static readonly TimeSpan ReadEvery = TimeSpan.FromMinutes(1);

    /// <summary>Rotation runs on every key refresh; a key this much past its rotation age means rotation is failing.</summary>
    internal static readonly TimeSpan RotationSlack = TimeSpan.FromHours(1);

    private IReadOnlyList<AlertCredential> _last = [];
    private DateTimeOffset _readAt = DateTimeOffset.MinValue;

    public async Task<IReadOnlyList<AlertCredential>> ReadAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (now - _readAt < ReadEvery) return _last;
        var list = new List<AlertCredential>();
        if (services?.GetService<ClusterTls>() is { } tls)
        {
            list.Add(new("certificate", "cluster-ca", Utc(tls.Ca.Certificate.NotAfter), options.CertificateExpiryWarning, "the cluster CA"));
            // Renewed by itself at two thirds of its life; it only gets near its end when renewal fails (the CA expired).
            if (tls.ServerContext().TargetCertificate is { } server)
            {
                var life = Utc(server.NotAfter) - Utc(server.NotBefore);
                var window = life / 4 < options.CertificateExpiryWarning ? life / 4 : options.CertificateExpiryWarning;
                list.Add(new("certificate", "control-plane", Utc(server.NotAfter), window, "this control plane's server certificate"));
            }
        }
        // Gateways' certificates in the store (ACME or stored by hand): a gateway renews one when min(30 days, a third of
        // its life) is left, so half of that left means renewal has been failing for as long.
        if (services?.GetService<GatewayStore>() is { } gateways)
            foreach (var (name, notBefore, notAfter) in await gateways.CertificateDatesAsync(ct))
            {
                var renewAt = (notAfter - notBefore) / 3 < TimeSpan.FromDays(30) ? (notAfter - notBefore) / 3 : TimeSpan.FromDays(30);
                list.Add(new("certificate", "gateway/" + name, notAfter, renewAt / 2, $"the gateways' certificate for {name}"));
            }
        if (services?.GetService<TokenKeyManager>() is { } keys && keys.Ring.SigningKeyId is { } kid)
        {
            var rotateEvery = services?.GetService<IOptions<TokenKeyOptions>>()?.Value.RotateEvery ?? new TokenKeyOptions().RotateEvery;
            var set = await keys.ReadAsync(ct);
            if (set.Keys.FirstOrDefault(k => k.Kid == kid) is { RetireAfter: null } mine)
                list.Add(new("signing-key", kid, mine.Created + rotateEvery + RotationSlack, TimeSpan.Zero, $"token signing key {kid}"));
        }
        _readAt = now;
        return _last = list;
    }

    private static DateTimeOffset Utc(DateTime value) => new(value.ToUniversalTime(), TimeSpan.Zero);
}
