namespace VirtualCluster.Api;

// Wire contracts of replicated volumes (issue 16): holders handed to agents, syncs reported back.

/// <summary>A node that keeps replicas of an instance's volumes, as the agent running the instance dials it.</summary>
/// <param name="NodeId">The holder's node id.</param>
/// <param name="Address">Its address.</param>
/// <param name="Port">Its replica server's port.</param>
public sealed record ReplicaHolder(string NodeId, string Address, int Port);

/// <summary>Where the replication of one volume to one holder stands.</summary>
/// <param name="Volume">The volume's name in the spec.</param>
/// <param name="Holder">The holder's node id.</param>
/// <param name="Epoch">The epoch of the instance that sent the syncs.</param>
/// <param name="Sequence">Completed syncs to this holder since the agent started replicating it (0: none yet).</param>
/// <param name="LastSyncAt">When the last completed sync started: the moment the replica shows. Null before the first.</param>
/// <param name="LagSeconds">Age of the oldest change the holder does not have (0 when caught up): what a loss of the node would lose.</param>
/// <param name="BytesBehind">Bytes of files changed since the last completed sync.</param>
/// <param name="LastError">Why the last attempt failed; null when it succeeded.</param>
public sealed record VolumeSyncReport(string Volume, string Holder, long Epoch, long Sequence, DateTimeOffset? LastSyncAt, double LagSeconds,
    long BytesBehind, string? LastError = null);

/// <summary>One replica of one volume in a service view.</summary>
/// <param name="Volume">The volume's name.</param>
/// <param name="Holder">The holder's node name.</param>
/// <param name="Sequence">Completed syncs (0: none yet).</param>
/// <param name="LastSyncAt">When the last completed sync started.</param>
/// <param name="LagSeconds">Seconds of writes not on the holder yet (the RPO now).</param>
/// <param name="BytesBehind">Bytes changed since the last completed sync.</param>
/// <param name="LastError">Why the last attempt failed, if it did.</param>
public sealed record ReplicaView(string Volume, string Holder, long Sequence, DateTimeOffset? LastSyncAt, double LagSeconds, long BytesBehind,
    string? LastError = null);

/// <summary>Body of <c>POST /v1/replication/verify</c>: a token a peer presented to this agent's replica server.</summary>
public sealed record ReplicaTokenCheck(string Token);

/// <summary>Answer of <c>POST /v1/replication/verify</c>.</summary>
/// <param name="Valid">True when it is a valid machine token of a node of this cluster.</param>
/// <param name="NodeId">That node's id.</param>
/// <param name="Error">Why it is refused.</param>
public sealed record ReplicaTokenAnswer(bool Valid, string? NodeId = null, string? Error = null);

/// <summary>
/// Answer of <c>GET /v1/replication/keep</c>: the replica ids (<see cref="ReplicaIds.For"/>) the asking node holds for
/// instances of services that still exist, in any state. Replicas it holds besides these (services removed, holders
/// moved elsewhere) may be deleted after the agent's retention time.
/// </summary>
public sealed record ReplicaKeepAnswer(IReadOnlyList<string> Volumes);

/// <summary>Names of replicas on their holders, the same for the control plane and the agents.</summary>
public static class ReplicaIds
{
    /// <summary>The replica id of volume <paramref name="volume"/> of volume set <paramref name="volumeSet"/>: <c>&lt;set&gt;.&lt;volume&gt;</c>.</summary>
    public static string For(string volumeSet, string volume) => $"{volumeSet}.{volume}";
}
