using System.CommandLine;
using VirtualCluster.ControlPlane;

namespace VirtualCluster.Host.Console;

/// <summary>The cluster's STUN/TURN servers (`--ice-server`, `--turn-user`, `--turn-password`), served at GET /v1/p2p/config.</summary>
internal sealed class IceOptions
{
    public Option<string[]> Servers { get; } = new("--ice-server")
    {
        Description = "STUN or TURN server for the cluster's peer links (repeatable), e.g. stun:203.0.113.1:3478 or turn:203.0.113.1:3478?transport=udp.",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string?> User { get; } = new("--turn-user") { Description = "User name for the TURN servers." };

    public Option<string?> Password { get; } = new("--turn-password") { Description = "Password for the TURN servers." };

    public IEnumerable<Option> All => [Servers, User, Password];

    public static IceOptions Create() => new();

    public Action<P2POptions> Read(ParseResult parse)
    {
        var servers = parse.GetValue(Servers) ?? [];
        var user = parse.GetValue(User);
        var password = parse.GetValue(Password);
        return o =>
        {
            o.IceServers = [.. servers];
            o.TurnUsername = user;
            o.TurnPassword = password;
        };
    }

    /// <summary>The same flags, to pass on to a child control plane.</summary>
    public string[] Arguments(ParseResult parse) =>
    [
        .. (parse.GetValue(Servers) ?? []).SelectMany(s => new[] { "--ice-server", s }),
        .. parse.GetValue(User) is { } u ? new[] { "--turn-user", u } : [],
        .. parse.GetValue(Password) is { } p ? new[] { "--turn-password", p } : [],
    ];
}
