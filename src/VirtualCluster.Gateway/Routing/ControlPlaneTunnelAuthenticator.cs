using VirtualCluster.Api;
using System.Collections.Concurrent;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Gateway;

/// <summary>
/// Checks an agent's machine token by asking the control plane who it is (GET /v1/whoami), so a gateway on another
/// machine needs no signing key. Answers are kept for a minute.
/// </summary>
internal sealed class ControlPlaneTunnelAuthenticator(ControlPlaneReader reader, TimeProvider time) : ITunnelAuthenticator
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);
    private const int MaxCached = 10_000;
    private readonly ConcurrentDictionary<string, (TunnelPeer Peer, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    public async ValueTask<(TunnelPeer? Peer, string? Error)> AuthenticateAsync(string token, CancellationToken cancellationToken = default)
    {
        if (token.Length is 0 or > 16 * 1024) return (null, "the token is malformed");
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(token, out var hit) && hit.Until > now) return (hit.Peer, null);
        WhoAmI? who;
        int status;
        try
        {
            (who, status) = await reader.GetAsync<WhoAmI>("v1/whoami", token, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            return (null, $"cannot check the token: no control plane answered ({e.Message})");
        }
        if (who is null) return (null, status == 401 ? "the control plane does not accept this token" : $"the control plane answered {status}");
        if (who.Role != VirtualCluster.Security.TokenRoles.Machine)
            return (null, $"a {who.Role} token cannot open a tunnel; agents use their machine token");
        if (_cache.Count >= MaxCached) _cache.Clear();
        var peer = new TunnelPeer(who.Subject);
        _cache[token] = (peer, now + CacheFor);
        return (peer, null);
    }

    /// <summary>Drops cached answers for <paramref name="nodeId"/> (a removed node): its next connection asks the control plane again.</summary>
    public void Forget(string nodeId)
    {
        foreach (var entry in _cache)
            if (entry.Value.Peer.NodeId == nodeId) _cache.TryRemove(entry);
    }
}
