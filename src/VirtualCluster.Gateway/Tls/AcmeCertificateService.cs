using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Acme;
using VirtualCluster.Api;
using VirtualCluster.Gateway.Dns;

namespace VirtualCluster.Gateway.Tls;

/// <summary>
/// Keeps a certificate for every name the gateway serves: with http-01, one per deployed service
/// (<c>&lt;service&gt;.&lt;domain&gt;</c>); with dns-01, one wildcard for <c>*.&lt;domain&gt;</c> proven through the
/// gateway's own DNS responder. Orders missing ones, renews those due (see <see cref="GatewayTlsOptions.RenewBefore"/>),
/// backs off per name after a failure (30 s doubling to 1 h), and keeps what it got in
/// <see cref="GatewayTlsOptions.CertificateDirectory"/> when one is set. Custom domains of services get a certificate
/// each (always HTTP-01) once <see cref="Domains.DomainVerifier"/> finds they point at this gateway.
/// </summary>
/// <remarks>
/// With an <see cref="IGatewayCertificateStore"/> (a standalone gateway: the control plane's cluster store), a name
/// without a good certificate is first looked up in the store, so a certificate another gateway obtained is served
/// without a new order; only the holder of the name's order lease orders it, and what it gets goes back to the store.
/// When the store cannot be reached the gateway orders alone, as without one.
/// </remarks>
internal sealed partial class AcmeCertificateService(
    IOptions<GatewayTlsOptions> tlsOptions, IOptions<GatewayOptions> gatewayOptions, IServiceRouteTable routes, GatewayCertificates certificates,
    Http01Challenges http01, IServiceProvider services, TimeProvider time, ILogger<AcmeCertificateService> logger) : BackgroundService
{
    private readonly Dictionary<string, (DateTimeOffset NextTry, TimeSpan Backoff)> _failures = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>How long an order may take before another gateway may order the same name.</summary>
    private static readonly TimeSpan OrderLease = TimeSpan.FromMinutes(5);
    private CertificateFiles? _files;
    private AcmeClient? _client;
    private IGatewayCertificateStore? _store;
    private readonly string _holder = $"{(gatewayOptions.Value.Name.Length > 40 ? gatewayOptions.Value.Name[..40] : gatewayOptions.Value.Name)}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}";
    private bool _storeFailing;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = tlsOptions.Value;
        if (o.AcmeDirectory is null) return;
        _files = o.CertificateDirectory is null ? null : new CertificateFiles(o.CertificateDirectory);
        _store = services.GetService<IGatewayCertificateStore>();
        if (_store is ControlPlaneCertificateStore && string.IsNullOrWhiteSpace(gatewayOptions.Value.ControlPlaneUrls)) _store = null; // in-process with the control plane: no API to reach
        foreach (var (name, certificate) in _files?.LoadAll() ?? [])
        {
            try { certificates.Set(name, certificate.ToX509(), certificate.Intermediates(), "files"); }
            catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or ArgumentException) { LogStoredUnreadable(name, e.Message); } // ordered again below
        }
        using var timer = new PeriodicTimer(o.CheckInterval, time);
        try
        {
            do
            {
                try
                {
                    if (routes.Loaded) await CheckAsync(stoppingToken);
                }
                catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
                {
                    LogCheckFailed(e);
                }
            } while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    /// <summary>The names that need a certificate now.</summary>
    internal IEnumerable<string> DesiredNames()
    {
        var domain = gatewayOptions.Value.Domain.ToLowerInvariant();
        IEnumerable<string> cluster = tlsOptions.Value.AcmeChallenge == "dns-01" ? [$"*.{domain}"] : routes.All.Select(r => $"{r.Name.ToLowerInvariant()}.{domain}");
        var verifier = services.GetService<Domains.DomainVerifier>();
        var custom = routes.All.SelectMany(r => r.Spec.Domains).Where(d => verifier?.IsVerified(d) == true).Select(d => d.ToLowerInvariant());
        return cluster.Concat(custom).Distinct();
    }

    /// <summary>True for a custom domain (outside the cluster domain), which is always proven over HTTP-01.</summary>
    private bool IsCustomDomain(string name)
    {
        var domain = gatewayOptions.Value.Domain;
        return !name.StartsWith("*.", StringComparison.Ordinal) && !name.EndsWith("." + domain, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>True when <paramref name="leaf"/> should be replaced: less than min(RenewBefore, a third of its lifetime) is left.</summary>
    internal static bool IsDue(X509Certificate2 leaf, TimeSpan renewBefore, DateTimeOffset now)
    {
        var notAfter = new DateTimeOffset(leaf.NotAfter.ToUniversalTime());
        var lifetime = notAfter - new DateTimeOffset(leaf.NotBefore.ToUniversalTime());
        var margin = TimeSpan.FromTicks(Math.Min(renewBefore.Ticks, lifetime.Ticks / 3));
        return now >= notAfter - margin;
    }

    private async Task CheckAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var name in DesiredNames())
        {
            if (certificates.Get(name) is { } current && !IsDue(current.Leaf, tlsOptions.Value.RenewBefore, now)) continue;
            if (_failures.TryGetValue(name, out var failure) && now < failure.NextTry) continue;
            if (await FromStoreAsync(name, now, cancellationToken)) continue;
            if (!await LeaseAsync(name, OrderLease, cancellationToken))
            {
                LogOrderedElsewhere(name);
                continue;
            }
            try
            {
                var issued = await OrderAsync(name, cancellationToken);
                var leaf = issued.ToX509();
                certificates.Set(name, leaf, issued.Intermediates());
                services.GetService<GatewayMetrics>()?.Ordered();
                _files?.Save(name, issued);
                _failures.Remove(name);
                LogIssued(name, leaf.NotAfter.ToUniversalTime(), leaf.Issuer);
                await ShareAsync(name, issued, cancellationToken);
            }
            catch (Exception e) when (e is AcmeException or HttpRequestException or IOException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                var backoff = failure.Backoff == TimeSpan.Zero ? TimeSpan.FromSeconds(30) : TimeSpan.FromTicks(Math.Min(failure.Backoff.Ticks * 2, TimeSpan.FromHours(1).Ticks));
                _failures[name] = (now + backoff, backoff);
                LogOrderFailed(name, backoff, e.Message);
            }
            finally
            {
                await LeaseAsync(name, TimeSpan.Zero, CancellationToken.None);
            }
        }
    }

    /// <summary>Serves the store's certificate for <paramref name="name"/> when it is newer than ours; true when it needs no renewal.</summary>
    private async Task<bool> FromStoreAsync(string name, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_store is null) return false;
        StoredCertificate? stored;
        try
        {
            stored = await _store.GetAsync(name, cancellationToken);
            StoreWorks();
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
        {
            StoreFails(e.Message);
            return false;
        }
        if (stored is null) return false;
        try
        {
            var certificate = new AcmeCertificate(stored.ChainPem, stored.PrivateKeyPem);
            var leaf = certificate.ToX509();
            if (certificates.Get(name) is { } current && current.Leaf.NotAfter >= leaf.NotAfter) return false; // ours is as new: the store's is no help
            certificates.Set(name, leaf, certificate.Intermediates(), "store");
            services.GetService<GatewayMetrics>()?.CertificateObtained("store");
            _files?.Save(name, certificate);
            LogFromStore(name, leaf.NotAfter.ToUniversalTime());
            return !IsDue(leaf, tlsOptions.Value.RenewBefore, now);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or ArgumentException) // ArgumentException: a key that is not the leaf's
        {
            LogStoredUnreadable(name, e.Message);
            return false;
        }
    }

    /// <summary>Takes (or with zero releases) the order lease; true without a reachable store, so the gateway still orders alone.</summary>
    private async Task<bool> LeaseAsync(string name, TimeSpan lease, CancellationToken cancellationToken)
    {
        if (_store is null) return true;
        try
        {
            var granted = await _store.TryLeaseAsync(name, _holder, lease, cancellationToken);
            StoreWorks();
            return granted;
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            StoreFails(e.Message);
            return true;
        }
    }

    /// <summary>Puts a new certificate in the store for the other gateways.</summary>
    private async Task ShareAsync(string name, AcmeCertificate issued, CancellationToken cancellationToken)
    {
        if (_store is null) return;
        try
        {
            await _store.PutAsync(new StoredCertificate(name, issued.ChainPem, issued.PrivateKeyPem), cancellationToken);
            StoreWorks();
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
        {
            StoreFails(e.Message);
        }
    }

    private void StoreWorks()
    {
        if (_storeFailing) LogStoreBack();
        _storeFailing = false;
    }

    private void StoreFails(string reason)
    {
        if (!_storeFailing) LogStoreFailing(reason);
        _storeFailing = true;
    }

    private async Task<AcmeCertificate> OrderAsync(string name, CancellationToken cancellationToken)
    {
        var o = tlsOptions.Value;
        if (_client is null)
        {
            var key = _files?.LoadOrCreateAccountKey() ?? AcmeAccountKey.Create();
            if (_store is not null)
            {
                // One ACME account for the cluster: every gateway uses the key the first one stored.
                try
                {
                    var shared = AcmeAccountKey.FromPem(await _store.AccountKeyAsync(key.ExportPem(), cancellationToken));
                    key.Dispose();
                    key = shared;
                }
                catch (HttpRequestException e) { StoreFails(e.Message); }
            }
            var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) };
            if (o.AcmeServerFingerprint is { } pin)
            {
                var fingerprint = Security.Tls.PinnedHttp.Parse(pin);
                handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                    errors == System.Net.Security.SslPolicyErrors.None
                    || (certificate is X509Certificate2 c && Security.Tls.TlsFingerprint.Of(c) == fingerprint)
                    || (chain?.ChainElements.Any(e => Security.Tls.TlsFingerprint.Of(e.Certificate) == fingerprint) ?? false);
            }
            var client = new AcmeClient(new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) }, new Uri(o.AcmeDirectory!), key); // polls the CA in real time; only renewal decisions follow the injected clock
            await client.RegisterAsync(o.AcmeEmail, cancellationToken);
            LogRegistered(client.AccountUrl!);
            _client = client;
        }
        IAcmeChallengeHandler challenge = http01;
        if (o.AcmeChallenge == "dns-01" && !IsCustomDomain(name))
        {
            var dns = services.GetService<DnsChallenges>() ?? throw new AcmeException("noDns", "dns-01 needs the gateway's DNS responder (--dns-listen)", 0);
            var zone = gatewayOptions.Value.Domain.ToLowerInvariant();
            challenge = new Dns01Challenges((n, v) => dns.Add(Relative(n, zone), v), (n, v) => dns.Remove(Relative(n, zone), v));
        }
        LogOrdering(name, challenge.ChallengeType);
        return await _client.OrderAsync([name], challenge, cancellationToken);
    }

    private static string Relative(string name, string zone) =>
        name.EndsWith("." + zone, StringComparison.OrdinalIgnoreCase) ? name[..^(zone.Length + 1)].ToLowerInvariant() : name.ToLowerInvariant();
}
