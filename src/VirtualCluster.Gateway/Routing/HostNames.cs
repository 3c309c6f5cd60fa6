namespace VirtualCluster.Gateway;

/// <summary>Reads the service name out of a Host header, refusing anything that is not a plain DNS name.</summary>
internal static class HostNames
{
    /// <summary>Longest host name (RFC 1035: 253 characters).</summary>
    public const int MaxLength = 253;

    public static bool IsValidDomain(string? domain) =>
        !string.IsNullOrEmpty(domain) && domain.Length <= MaxLength && domain.Split('.').All(IsLabel);

    /// <summary>A DNS label: 1-63 of a-z, 0-9 and '-', not starting or ending with '-'.</summary>
    public static bool IsLabel(string label) =>
        label.Length is >= 1 and <= 63 && label[0] != '-' && label[^1] != '-'
        && label.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-');

    /// <summary>What a Host header asks for.</summary>
    public enum Kind { Service, Gateway, Invalid }

    /// <summary>
    /// Classifies a Host value (without port): <c>&lt;service&gt;.&lt;domain&gt;</c> is a service; the domain itself,
    /// an IP address or any other name is the gateway's own; anything malformed is invalid.
    /// </summary>
    public static Kind Classify(string host, string domain, out string service, out string? error)
    {
        service = "";
        error = null;
        if (host.Length == 0) { error = "the request has no Host header"; return Kind.Invalid; }
        if (host.Length > MaxLength) { error = $"the Host header is {host.Length} characters; a host name has at most {MaxLength}"; return Kind.Invalid; }
        if (host.StartsWith('[') || System.Net.IPAddress.TryParse(host, out _)) return Kind.Gateway;
        host = host.TrimEnd('.');
        if (!host.Split('.').All(IsLabel)) { error = $"the Host header \"{Printable(host)}\" is not a DNS name"; return Kind.Invalid; }
        if (!host.EndsWith("." + domain, StringComparison.OrdinalIgnoreCase)) return Kind.Gateway;
        var name = host[..^(domain.Length + 1)];
        if (name.Contains('.')) { error = $"\"{Printable(host)}\" has more than one name before .{domain}; use http://<service>.{domain}/"; return Kind.Invalid; }
        service = name.ToLowerInvariant();
        return Kind.Service;
    }

    private static string Printable(string s) => new(s.Take(80).Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());
}
