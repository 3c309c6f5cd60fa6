using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Api;

namespace VirtualCluster.Gateway.Domains;

/// <summary>
/// Checks the custom domains of the deployed services: a domain is verified when it resolves (through
/// <see cref="GatewayOptions.DomainResolver"/>, or the system's resolver) to an address of this gateway — one of its
/// interfaces' addresses or the public addresses its DNS responder answers with. New domains are checked at once,
/// known ones every <see cref="GatewayOptions.DomainCheckInterval"/>; results go to the control plane (so
/// <c>vcluster services</c> shows them) and to the certificate service, which orders only for verified domains.
/// </summary>
public sealed partial class DomainVerifier(
    IServiceRouteTable routes, IOptions<GatewayOptions> options, IServiceProvider services, TimeProvider time, ILogger<DomainVerifier> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, (bool Verified, string? Problem, DateTimeOffset NextCheck)> _results = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>True when <paramref name="domain"/> was last found to point at this gateway.</summary>
    public bool IsVerified(string domain) => _results.TryGetValue(domain, out var r) && r.Verified;

    /// <summary>The domains verified now.</summary>
    public IReadOnlyList<string> Verified => [.. _results.Where(r => r.Value.Verified).Select(r => r.Key)];

    /// <summary>Every domain's last result, for the gateway's own status endpoint.</summary>
    public IReadOnlyDictionary<string, (bool Verified, string? Problem)> Results => _results.ToDictionary(r => r.Key, r => (r.Value.Verified, r.Value.Problem));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        var lookup = new DnsLookup(o.DomainResolver is { } r ? IPEndPoint.Parse(r) : null, TimeSpan.FromSeconds(3));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (routes.Loaded) await CheckDueAsync(lookup, o, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
            {
                LogCheckFailed(e.Message);
            }
            try { await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    private async Task CheckDueAsync(DnsLookup lookup, GatewayOptions o, CancellationToken ct)
    {
        var wanted = routes.All.SelectMany(r => r.Spec.Domains).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var gone in _results.Keys.Where(d => !wanted.Contains(d)).ToList()) _results.TryRemove(gone, out _);
        var now = time.GetUtcNow();
        var due = wanted.Where(d => !_results.TryGetValue(d, out var r) || r.NextCheck <= now).ToList();
        if (due.Count == 0) return;
        var mine = OwnAddresses();
        var checks = new List<DomainCheck>(due.Count);
        foreach (var domain in due)
        {
            bool verified;
            string? problem = null;
            try
            {
                var addresses = await lookup.ResolveAsync(domain, ct).ConfigureAwait(false);
                verified = addresses.Any(a => mine.Contains(Normal(a)));
                if (!verified)
                    problem = addresses.Count == 0 ? $"{domain} has no A or AAAA record" : $"{domain} resolves to {string.Join(", ", addresses.Take(4))}, not to this gateway";
            }
            catch (DnsLookupException e)
            {
                verified = false;
                problem = e.Message;
            }
            var before = _results.TryGetValue(domain, out var old) ? old : ((bool Verified, string? Problem, DateTimeOffset NextCheck)?)null;
            _results[domain] = (verified, problem, now + o.DomainCheckInterval);
            if (before?.Verified != verified)
            {
                if (verified) LogVerified(domain);
                else LogNotVerified(domain, problem!);
            }
            checks.Add(new DomainCheck(domain.ToLowerInvariant(), verified, problem));
        }
        await ReportAsync(checks, o, ct).ConfigureAwait(false);
    }

    private async Task ReportAsync(List<DomainCheck> checks, GatewayOptions o, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(o.ControlPlaneUrls)) return; // in-process with the control plane (web host): nothing to report to
        try
        {
            var (_, status) = await services.GetRequiredService<ControlPlaneReader>()
                .SendAsync<object>(HttpMethod.Post, "v1/gateway-store/domains", new DomainReport(o.Name, checks), o.ControlPlaneToken, ct).ConfigureAwait(false);
            if (status is not (200 or 204)) LogReportRefused(status);
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException && !ct.IsCancellationRequested)
        {
            LogReportFailed(e.Message);
        }
    }

    /// <summary>This gateway's addresses: its interfaces' and the public ones its DNS responder gives out.</summary>
    private HashSet<IPAddress> OwnAddresses()
    {
        var set = new HashSet<IPAddress>();
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
                foreach (var unicast in nic.GetIPProperties().UnicastAddresses) set.Add(Normal(unicast.Address));
        }
        catch (Exception e) when (e is NetworkInformationException or System.Net.Sockets.SocketException or PlatformNotSupportedException)
        {
            // An unreadable interface list leaves loopback and the configured addresses.
            set.Add(IPAddress.Loopback);
            set.Add(IPAddress.IPv6Loopback);
        }
        if (services.GetService<IOptions<VirtualCluster.Dns.DnsServerOptions>>()?.Value.Addresses is { } published)
            foreach (var text in published)
                if (IPAddress.TryParse(text, out var address)) set.Add(Normal(address));
        return set;
    }

    /// <summary>IPv4-mapped IPv6 as IPv4, IPv6 without its scope (ScopeId throws for IPv4, so it is read only for IPv6).</summary>
    private static IPAddress Normal(IPAddress a) =>
        a.IsIPv4MappedToIPv6 ? a.MapToIPv4()
        : a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && a.ScopeId != 0 ? new IPAddress(a.GetAddressBytes())
        : a;

    [LoggerMessage(6501, LogLevel.Information, "Custom domain {Domain} points at this gateway: verified")]
    private partial void LogVerified(string domain);

    [LoggerMessage(6502, LogLevel.Warning, "Custom domain {Domain} is not verified: {Problem}; point its A/AAAA record at this gateway")]
    private partial void LogNotVerified(string domain, string problem);

    [LoggerMessage(6503, LogLevel.Warning, "Cannot check custom domains: {Reason}")]
    private partial void LogCheckFailed(string reason);

    [LoggerMessage(6504, LogLevel.Warning, "The control plane refused the domain report (HTTP {Status}); the gateway's token must be an admin token")]
    private partial void LogReportRefused(int status);

    [LoggerMessage(6505, LogLevel.Warning, "Cannot report custom domain checks to the control plane: {Reason}")]
    private partial void LogReportFailed(string reason);
}
