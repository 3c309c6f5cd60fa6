using System.Collections.Concurrent;
using VirtualCluster.Agent.Connection;
using VirtualCluster.Replication.Volumes;

namespace VirtualCluster.Agent.Replication;

/// <summary>
/// Admits senders whose token the control plane confirms as a machine token of this cluster (agents hold no signing
/// keys). A confirmed token is remembered for <see cref="CacheFor"/>, so steady syncs cost no call; a refusal is not,
/// so a node that was just admitted is not kept out.
/// </summary>
internal sealed class ControlPlaneReplicaAuthenticator(ControlPlaneClient client, Func<AgentIdentity?> identity, TimeProvider time) : IReplicaAuthenticator
{
    private const int MaxCached = 1024;
    private readonly ConcurrentDictionary<string, (string Node, DateTimeOffset Until)> _confirmed = new(StringComparer.Ordinal);

    /// <summary>How long a confirmed token is trusted without asking again. 1 minute.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);

    public async Task<(string? Sender, string? Error)> AuthenticateAsync(string token, string volumeId, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        if (_confirmed.TryGetValue(token, out var known) && known.Until > now) return (known.Node, null);
        if (identity() is not { } me) return (null, "this node has not joined the cluster yet, so it cannot check tokens");
        try
        {
            var answer = await client.VerifyReplicaTokenAsync(me, token, cancellationToken).ConfigureAwait(false);
            if (!answer.Valid || answer.NodeId is null) return (null, $"the token is refused: {answer.Error ?? "not a machine token of this cluster"}");
            if (_confirmed.Count >= MaxCached) _confirmed.Clear();
            _confirmed[token] = (answer.NodeId, now + CacheFor);
            return (answer.NodeId, null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ControlPlaneRejectedException)
        {
            return (null, $"the control plane could not check the token now ({e.Message}); try again");
        }
    }
}
