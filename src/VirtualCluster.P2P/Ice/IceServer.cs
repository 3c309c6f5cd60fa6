using System.Diagnostics.CodeAnalysis;

namespace VirtualCluster.P2P.Ice;

/// <summary>STUN or TURN.</summary>
public enum IceServerKind
{
    /// <summary>A STUN server: server-reflexive candidates.</summary>
    Stun,
    /// <summary>A TURN server (UDP): relayed candidates, and server-reflexive ones from the same exchange.</summary>
    Turn,
}

/// <summary>A STUN or TURN server (RFC 7064 / RFC 7065 URIs: "stun:host[:port]", "turn:host[:port][?transport=udp]").</summary>
public sealed record IceServer(IceServerKind Kind, string Host, int Port = 3478, string? Username = null, string? Password = null)
{
    /// <summary>Parses a stun: or turn: URI; TURN needs <paramref name="username"/> and <paramref name="password"/>.</summary>
    public static bool TryParse(string uri, string? username, string? password, [NotNullWhen(true)] out IceServer? server)
    {
        server = null;
        IceServerKind kind;
        string rest;
        if (uri.StartsWith("stun:", StringComparison.OrdinalIgnoreCase)) (kind, rest) = (IceServerKind.Stun, uri[5..]);
        else if (uri.StartsWith("turn:", StringComparison.OrdinalIgnoreCase)) (kind, rest) = (IceServerKind.Turn, uri[5..]);
        else return false;
        var query = rest.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            if (!rest[(query + 1)..].Equals("transport=udp", StringComparison.OrdinalIgnoreCase)) return false;
            rest = rest[..query];
        }
        var port = 3478;
        string host;
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) return false;
            host = rest[1..close];
            var tail = rest[(close + 1)..];
            if (tail.Length > 0 && (!tail.StartsWith(':') || !int.TryParse(tail[1..], out port))) return false;
        }
        else
        {
            var colon = rest.LastIndexOf(':');
            host = colon >= 0 ? rest[..colon] : rest;
            if (colon >= 0 && !int.TryParse(rest[(colon + 1)..], out port)) return false;
        }
        if (host.Length == 0 || port is < 1 or > 65535) return false;
        if (kind == IceServerKind.Turn && (string.IsNullOrEmpty(username) || password is null)) return false;
        server = new IceServer(kind, host, port, username, password);
        return true;
    }

    /// <summary>Like <see cref="TryParse"/> but throws <see cref="FormatException"/>.</summary>
    public static IceServer Parse(string uri, string? username = null, string? password = null) =>
        TryParse(uri, username, password, out var server) ? server : throw new FormatException($"not a stun: or turn: URI (TURN needs a username and password): {uri}");
}
