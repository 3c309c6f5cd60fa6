using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace VirtualCluster.P2P.Ice;

/// <summary>Candidate types (RFC 8445 §5.1.1).</summary>
public enum IceCandidateType
{
    /// <summary>"host": an address of a local interface.</summary>
    Host,
    /// <summary>"srflx": the address a STUN or TURN server saw (the NAT's public side).</summary>
    ServerReflexive,
    /// <summary>"prflx": an address learned from a connectivity check (RFC 8445 §7.2.5.3.1, §7.3.1.3).</summary>
    PeerReflexive,
    /// <summary>"relay": an address allocated on a TURN server.</summary>
    Relayed,
}

/// <summary>
/// An ICE candidate, and its SDP attribute form (RFC 8839 §5.1):
/// <c>candidate:foundation component transport priority address port typ type [raddr a rport p] *(name value)</c>.
/// </summary>
public sealed record IceCandidate(string Foundation, int Component, uint Priority, IPEndPoint EndPoint, IceCandidateType Type,
    IPEndPoint? RelatedEndPoint = null, string Transport = "udp")
{
    private const int MaxLineLength = 1024;

    /// <summary>Extension attributes (e.g. "generation 0"), kept in order so a parsed line formats back the same.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Extensions { get; init; } = [];

    /// <summary>True for a relayed candidate.</summary>
    public bool IsRelayed => Type == IceCandidateType.Relayed;

    /// <summary>The SDP token of a type: host, srflx, prflx, relay.</summary>
    public static string TypeToken(IceCandidateType type) => type switch
    {
        IceCandidateType.Host => "host",
        IceCandidateType.ServerReflexive => "srflx",
        IceCandidateType.PeerReflexive => "prflx",
        _ => "relay",
    };

    /// <summary>Formats the attribute value, starting with "candidate:" (prefix "a=" for an SDP line).</summary>
    public string ToSdp()
    {
        var sb = new StringBuilder(128);
        sb.Append(CultureInfo.InvariantCulture, $"candidate:{Foundation} {Component} {Transport} {Priority} {EndPoint.Address} {EndPoint.Port} typ {TypeToken(Type)}");
        if (RelatedEndPoint is { } related) sb.Append(CultureInfo.InvariantCulture, $" raddr {related.Address} rport {related.Port}");
        foreach (var (name, value) in Extensions) sb.Append(' ').Append(name).Append(' ').Append(value);
        return sb.ToString();
    }

    /// <inheritdoc />
    public override string ToString() => ToSdp();

    /// <summary>
    /// Parses "candidate:..." or "a=candidate:...". Returns false, never throws, for anything malformed: a foundation
    /// that is not 1-32 ice-chars, a component outside 1-256, a priority that is not a 32-bit number, an address that
    /// is not an IP literal (FQDN and mDNS names are not resolved), a port outside 0-65535, an unknown type, an odd
    /// extension list, or a line longer than 1024 characters.
    /// </summary>
    public static bool TryParse(string? line, [NotNullWhen(true)] out IceCandidate? candidate)
    {
        candidate = null;
        if (line is null || line.Length > MaxLineLength) return false;
        var text = line.AsSpan().Trim();
        if (text.StartsWith("a=", StringComparison.Ordinal)) text = text[2..];
        if (!text.StartsWith("candidate:", StringComparison.OrdinalIgnoreCase)) return false;
        var parts = text["candidate:".Length..].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 8 || parts.Length > 64 || (parts.Length - 8) % 2 != 0) return false;
        if (!IsFoundation(parts[0])) return false;
        if (!TryDigits(parts[1], 3, out var component) || component is < 1 or > 256) return false;
        var transport = parts[2];
        if (!IsToken(transport)) return false;
        if (!TryDigits(parts[3], 10, out var priority) || priority > uint.MaxValue) return false;
        if (!TryAddress(parts[4], out var address)) return false;
        if (!TryDigits(parts[5], 5, out var port) || port > 65535) return false;
        if (parts[6] != "typ") return false;
        IceCandidateType type;
        switch (parts[7])
        {
            case "host": type = IceCandidateType.Host; break;
            case "srflx": type = IceCandidateType.ServerReflexive; break;
            case "prflx": type = IceCandidateType.PeerReflexive; break;
            case "relay": type = IceCandidateType.Relayed; break;
            default: return false;
        }
        IPAddress? raddr = null;
        long rport = -1;
        var extensions = new List<KeyValuePair<string, string>>();
        for (var i = 8; i < parts.Length; i += 2)
        {
            var (name, value) = (parts[i], parts[i + 1]);
            if (name == "raddr")
            {
                if (!TryAddress(value, out raddr)) return false;
            }
            else if (name == "rport")
            {
                if (!TryDigits(value, 5, out rport) || rport > 65535) return false;
            }
            else
            {
                if (!IsToken(name) || value.Length > 256) return false;
                extensions.Add(new(name, value));
            }
        }
        IPEndPoint? related = raddr is not null && rport >= 0 ? new IPEndPoint(raddr, (int)rport) : null;
        candidate = new IceCandidate(parts[0], (int)component, (uint)priority, new IPEndPoint(address, (int)port), type, related,
            transport.ToLowerInvariant()) { Extensions = extensions };
        return true;
    }

    private static bool TryAddress(string text, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        if (text.Length > 45 || !IPAddress.TryParse(text, out var parsed)) return false;
        // IPAddress.TryParse accepts "1" or "1.2"; SDP needs a full literal.
        if (parsed.AddressFamily == AddressFamily.InterNetwork && text.Count(c => c == '.') != 3) return false;
        if (parsed.AddressFamily == AddressFamily.InterNetworkV6 && (text.Contains('%') || !text.Contains(':'))) return false;
        address = parsed;
        return true;
    }

    private static bool TryDigits(string text, int maxDigits, out long value)
    {
        value = 0;
        if (text.Length is 0 || text.Length > maxDigits) return false;
        foreach (var c in text)
        {
            if (c is < '0' or > '9') return false;
            value = value * 10 + (c - '0');
        }
        return true;
    }

    private static bool IsFoundation(string text) =>
        text.Length is >= 1 and <= 32 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/');

    private static bool IsToken(string text) =>
        text.Length is >= 1 and <= 64 && text.All(c => c is > ' ' and < (char)127);
}
