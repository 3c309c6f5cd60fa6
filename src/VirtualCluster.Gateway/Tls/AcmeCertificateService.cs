using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Acme;
using VirtualCluster.Gateway.Dns;

namespace VirtualCluster.Gateway.Tls;

/// <summary>
/// Keeps a certificate for every name the gateway serves: with http-01, one per deployed service
/// (<c>&lt;service&gt;.&lt;domain&gt;</c>); with dns-01, one wildcard for <c>*.&lt;domain&gt;</c> proven through the
/// gateway's own DNS responder. Orders missing ones, renews those due (see <see cref="GatewayTlsOptions.RenewBefore"/>),
/// backs off per name after a failure (30 s doubling to 1 h), and keeps what it got in
/// <see cref="GatewayTlsOptions.CertificateDirectory"/> when one is set.
/// </summary>
internal sealed partial class AcmeCertificateService(
    IOptions<GatewayTlsOptions> tlsOptions, IOptions<GatewayOptions> gatewayOptions, IServiceRouteTable routes, GatewayCertificates certificates,
    Http01Challenges http01, IServiceProvider services, TimeProvider time, ILogger<AcmeCertificateService> logger) : BackgroundService
{
    private readonly Dictionary<string, (DateTimeOffset NextTry, TimeSpan Backoff)> _failures = new(StringComparer.OrdinalIgnoreCase);
    private CertificateFiles? _files;
    private AcmeClient? _client;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = tlsOptions.Value;
        if (o.AcmeDirectory is null) return;
        _files = o.CertificateDirectory is null ? null : new CertificateFiles(o.CertificateDirectory);
        foreach (var (name, certificate) in _files?.LoadAll() ?? [])
        {
            try { certificates.Set(name, certificate.ToX509(), certificate.Intermediates()); }
            catch (System.Security.Cryptography.CryptographicException e) { LogStoredUnreadable(name, e.Message); } // ordered again below
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
        if (tlsOptions.Value.AcmeChallenge == "dns-01") return [$"*.{domain}"];
        return routes.All.Select(r => $"{r.Name.ToLowerInvariant()}.{domain}");
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
            try
            {
                var issued = await OrderAsync(name, cancellationToken);
                var leaf = issued.ToX509();
                certificates.Set(name, leaf, issued.Intermediates());
                _files?.Save(name, issued);
                _failures.Remove(name);
                LogIssued(name, leaf.NotAfter.ToUniversalTime(), leaf.Issuer);
            }
            catch (Exception e) when (e is AcmeException or HttpRequestException or IOException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                var backoff = failure.Backoff == TimeSpan.Zero ? TimeSpan.FromSeconds(30) : TimeSpan.FromTicks(Math.Min(failure.Backoff.Ticks * 2, TimeSpan.FromHours(1).Ticks));
                _failures[name] = (now + backoff, backoff);
                LogOrderFailed(name, backoff, e.Message);
            }
        }
    }

    private async Task<AcmeCertificate> OrderAsync(string name, CancellationToken cancellationToken)
    {
        var o = tlsOptions.Value;
        if (_client is null)
        {
            var key = _files?.LoadOrCreateAccountKey() ?? AcmeAccountKey.Create();
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
        if (o.AcmeChallenge == "dns-01")
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
