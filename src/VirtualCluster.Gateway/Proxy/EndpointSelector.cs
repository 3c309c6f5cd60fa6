using System.Collections.Concurrent;
using VirtualCluster.Routing;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Gateway;

/// <summary>
/// Picks an instance for a request: among the reachable ones (a node that ever had a tunnel must have one now; others
/// are reached directly at their address) not cooling down after a failed connection, the one with fewer requests in
/// flight of two chosen at random (the "power of two choices": near-least-loaded without scanning or herding).
/// </summary>
internal sealed class EndpointSelector(IStreamDialer dialer, INodePaths paths, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _coolingUntil = new(StringComparer.Ordinal);

    public bool IsReachable(ServiceEndpoint endpoint) => dialer.CanReach(endpoint.NodeId) || !paths.EverConnected(endpoint.NodeId);

    public ServiceEndpoint? Pick(ServiceRoute route, IReadOnlyCollection<string> tried)
    {
        var now = time.GetUtcNow();
        var candidates = route.Endpoints
            .Where(e => !tried.Contains(e.InstanceId) && IsReachable(e)
                && !(_coolingUntil.TryGetValue(e.InstanceId, out var until) && until > now))
            .ToList();
        if (candidates.Count == 0)
        {
            // Everything is cooling down: a cooled instance is still better than none.
            candidates = route.Endpoints.Where(e => !tried.Contains(e.InstanceId) && IsReachable(e)).ToList();
            if (candidates.Count == 0) return null;
        }
        if (candidates.Count == 1) return candidates[0];
        var a = candidates[Random.Shared.Next(candidates.Count)];
        var b = candidates[Random.Shared.Next(candidates.Count)];
        return InFlight(a) <= InFlight(b) ? a : b;
    }

    public void Started(ServiceEndpoint e) => _inFlight.AddOrUpdate(e.InstanceId, 1, (_, n) => n + 1);

    public void Finished(ServiceEndpoint e) => _inFlight.AddOrUpdate(e.InstanceId, 0, (_, n) => Math.Max(0, n - 1));

    public void Failed(ServiceEndpoint e, TimeSpan cooldown)
    {
        if (_coolingUntil.Count > 10_000) _coolingUntil.Clear();
        _coolingUntil[e.InstanceId] = time.GetUtcNow() + cooldown;
    }

    private int InFlight(ServiceEndpoint e) => _inFlight.GetValueOrDefault(e.InstanceId);
}
