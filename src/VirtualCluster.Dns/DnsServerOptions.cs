using System.Net;
using Microsoft.Extensions.Options;

namespace VirtualCluster.Dns;

/// <summary>Settings of the authoritative DNS responder for one zone.</summary>
public sealed class DnsServerOptions
{
    /// <summary>UDP address and port to answer on, e.g. <c>0.0.0.0:53</c> or <c>127.0.0.1:5353</c>. Default <c>0.0.0.0:53</c>; port 0 picks a free one.</summary>
    public string Listen { get; set; } = "0.0.0.0:53";

    /// <summary>The zone (the cluster domain), e.g. <c>vc.example.com</c>. Required.</summary>
    public string Domain { get; set; } = "";

    /// <summary>
    /// Addresses (IPv4 and/or IPv6) that names in the zone resolve to: the gateways' public addresses. Default empty,
    /// which means the <see cref="Listen"/> address when it is a specific one (not 0.0.0.0 or ::). At most 8 of each family.
    /// </summary>
    public List<string> Addresses { get; set; } = [];

    /// <summary>
    /// Names of the zone's name servers, the NS records at its apex (and the SOA's primary). Names inside the zone
    /// resolve to <see cref="Addresses"/>, so they need no glue elsewhere. Default empty, meaning <c>ns1.&lt;Domain&gt;</c>.
    /// </summary>
    public List<string> NameServers { get; set; } = [];

    /// <summary>TTL of answers and of negative answers (the SOA minimum). Short, so a moved gateway is seen soon. Default 30 s; 1 s to 1 day.</summary>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest UDP response, whatever the asker's EDNS size says (DNS flag day 2020 advises 1232, no fragments). Default 1232; 512 to 4096.</summary>
    public int MaxUdpPayload { get; set; } = 1232;

    /// <summary>Queries answered per second per source (an IPv4 address or an IPv6 /64); more are dropped. Default 50.</summary>
    public double QueriesPerSecondPerSource { get; set; } = 50;

    /// <summary>Queries a source may send at once before its rate applies. Default 100.</summary>
    public int BurstPerSource { get; set; } = 100;

    /// <summary>Most sources whose rate is tracked; past this, new sources share one bucket until old ones are forgotten. Default 10,000.</summary>
    public int MaxTrackedSources { get; set; } = 10_000;

    /// <summary>Also answer over TCP on the same address and port (RFC 7766: resolvers retry there). Default true.</summary>
    public bool Tcp { get; set; } = true;

    /// <summary>Most TCP connections open at once; more are closed at once. Default 128; 1 to 10,000.</summary>
    public int MaxTcpConnections { get; set; } = 128;

    /// <summary>A TCP connection that sends no (whole) query for this long is closed (slow or idle clients). Default 10 s; 100 ms to 2 minutes.</summary>
    public TimeSpan TcpIdleTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Queries answered on one TCP connection before it is closed. Default 100; 1 to 100,000.</summary>
    public int MaxQueriesPerTcpConnection { get; set; } = 100;

    /// <summary>The domain in lower case without the final dot.</summary>
    internal string Zone => Domain.Trim().TrimEnd('.').ToLowerInvariant();

    /// <summary>The addresses answers carry: <see cref="Addresses"/>, or the listen address when none are given.</summary>
    internal IReadOnlyList<IPAddress> AnswerAddresses()
    {
        var parsed = Addresses.Select(a => TryParseAddress(a, out var ip) ? ip : null).OfType<IPAddress>().ToList();
        if (parsed.Count > 0) return parsed;
        return IPEndPoint.TryParse(Listen, out var ep) && !ep.Address.Equals(IPAddress.Any) && !ep.Address.Equals(IPAddress.IPv6Any) ? [ep.Address] : [];
    }

    /// <summary>An IPv4 address in four parts (not the legacy "1.2.3" forms IPAddress.Parse accepts) or an IPv6 address.</summary>
    internal static bool TryParseAddress(string text, out IPAddress? address)
    {
        address = null;
        text = text.Trim();
        if (!IPAddress.TryParse(text, out var ip)) return false;
        if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && text.Count(c => c == '.') != 3) return false;
        address = ip;
        return true;
    }

    internal IReadOnlyList<string> NameServerNames() =>
        NameServers.Count > 0 ? NameServers.Select(n => n.Trim().TrimEnd('.').ToLowerInvariant()).ToList() : [$"ns1.{Zone}"];
}

/// <summary>Checks <see cref="DnsServerOptions"/>; every problem names the option and the fix.</summary>
internal sealed class DnsServerOptionsValidator : IValidateOptions<DnsServerOptions>
{
    public ValidateOptionsResult Validate(string? name, DnsServerOptions o)
    {
        var errors = new List<string>();
        if (!IPEndPoint.TryParse(o.Listen ?? "", out var listen) || o.Listen!.IndexOf(':') < 0)
            errors.Add($"Listen \"{o.Listen}\" is not an address and port like 0.0.0.0:53 or 127.0.0.1:5353");
        if (!IsDnsName(o.Zone))
            errors.Add($"Domain \"{o.Domain}\" is not a DNS name like vc.example.com (letters, digits, '-' and '.'); the responder answers for this zone");
        foreach (var a in o.Addresses)
            if (!DnsServerOptions.TryParseAddress(a, out _)) errors.Add($"Addresses: \"{a}\" is not an IPv4 or IPv6 address like 203.0.113.10 or 2001:db8::10");
        var answers = o.AnswerAddresses();
        if (errors.Count == 0 && answers.Count == 0)
            errors.Add($"Addresses is empty and Listen {o.Listen} is a wildcard: name the gateway's public address(es) that names in {o.Zone} resolve to");
        if (answers.Count(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) > 8 || answers.Count(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) > 8)
            errors.Add("Addresses: at most 8 IPv4 and 8 IPv6 addresses (answers must stay small)");
        foreach (var ns in o.NameServers)
            if (!IsDnsName(ns.Trim().TrimEnd('.'))) errors.Add($"NameServers: \"{ns}\" is not a DNS name like ns1.{o.Zone}");
        if (o.Ttl < TimeSpan.FromSeconds(1) || o.Ttl > TimeSpan.FromDays(1)) errors.Add($"Ttl {o.Ttl} must be between 1 s and 1 day (default 30 s)");
        if (o.MaxUdpPayload is < 512 or > 4096) errors.Add($"MaxUdpPayload {o.MaxUdpPayload} must be between 512 and 4096 bytes (default 1232)");
        if (!(o.QueriesPerSecondPerSource > 0) || o.QueriesPerSecondPerSource > 1_000_000) errors.Add($"QueriesPerSecondPerSource {o.QueriesPerSecondPerSource} must be above 0 and at most 1,000,000 (default 50)");
        if (o.BurstPerSource is < 1 or > 1_000_000) errors.Add($"BurstPerSource {o.BurstPerSource} must be between 1 and 1,000,000 (default 100)");
        if (o.MaxTrackedSources is < 1 or > 10_000_000) errors.Add($"MaxTrackedSources {o.MaxTrackedSources} must be between 1 and 10,000,000 (default 10,000)");
        if (o.MaxTcpConnections is < 1 or > 10_000) errors.Add($"MaxTcpConnections {o.MaxTcpConnections} must be between 1 and 10,000 (default 128)");
        if (o.TcpIdleTimeout < TimeSpan.FromMilliseconds(100) || o.TcpIdleTimeout > TimeSpan.FromMinutes(2)) errors.Add($"TcpIdleTimeout {o.TcpIdleTimeout} must be between 100 ms and 2 minutes (default 10 s)");
        if (o.MaxQueriesPerTcpConnection is < 1 or > 100_000) errors.Add($"MaxQueriesPerTcpConnection {o.MaxQueriesPerTcpConnection} must be between 1 and 100,000 (default 100)");
        return errors.Count > 0 ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
    }

    internal static bool IsDnsName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 253 && name.Split('.').All(l => l.Length is >= 1 and <= 63 && l[0] != '-' && l[^1] != '-'
            && l.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'));
}
