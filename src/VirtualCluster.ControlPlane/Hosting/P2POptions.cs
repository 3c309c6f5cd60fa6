using Microsoft.Extensions.Options;

namespace VirtualCluster.ControlPlane;

/// <summary>
/// The cluster's STUN/TURN servers, handed to agents and gateways by GET /v1/p2p/config so every peer link of the
/// cluster uses the same ones. Configure with <c>services.Configure&lt;P2POptions&gt;</c> (console: <c>--ice-server</c>,
/// <c>--turn-user</c>, <c>--turn-password</c>; web host: <c>VirtualCluster:P2P</c>).
/// </summary>
public sealed class P2POptions
{
    /// <summary>Server URLs: <c>stun:host[:port]</c> or <c>turn:host[:port][?transport=udp]</c>. Default none (host candidates only).</summary>
    public List<string> IceServers { get; set; } = [];

    /// <summary>User name for the TURN servers. Required when a <c>turn:</c> URL is given.</summary>
    public string? TurnUsername { get; set; }

    /// <summary>Password for the TURN servers. Required when a <c>turn:</c> URL is given.</summary>
    public string? TurnPassword { get; set; }
}

internal sealed class P2POptionsValidator : IValidateOptions<P2POptions>
{
    public ValidateOptionsResult Validate(string? name, P2POptions o)
    {
        var errors = new List<string>();
        foreach (var url in o.IceServers)
        {
            var turn = url.StartsWith("turn:", StringComparison.OrdinalIgnoreCase);
            if (!(turn || url.StartsWith("stun:", StringComparison.OrdinalIgnoreCase)) || url.Length < 6 || url.Length > 300 || url.Contains('/', StringComparison.Ordinal) || url.Any(char.IsWhiteSpace))
                errors.Add($"ICE server \"{url}\" is not a URL like stun:203.0.113.1:3478 or turn:203.0.113.1:3478?transport=udp");
            else if (turn && url.Contains('?', StringComparison.Ordinal) && !url.EndsWith("?transport=udp", StringComparison.OrdinalIgnoreCase))
                errors.Add($"ICE server \"{url}\": only UDP TURN is supported; drop the query or use ?transport=udp");
            else if (turn && (string.IsNullOrEmpty(o.TurnUsername) || o.TurnPassword is null))
                errors.Add($"ICE server \"{url}\" is a TURN server: give --turn-user and --turn-password (P2P:TurnUsername/TurnPassword)");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
