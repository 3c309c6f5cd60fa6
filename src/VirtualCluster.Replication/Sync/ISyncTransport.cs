namespace VirtualCluster.Replication.Sync;

/// <summary>
/// Carries one exchange of a sync to a receiver: the request body is written by <c>writeRequest</c> (streamed, so
/// its size is not bounded by memory) and the receiver's response body comes back. Implementations: in process
/// (<see cref="LocalSyncTransport"/>), or over the cluster's authenticated links between agents.
/// A receiver's refusal surfaces as a <see cref="ReplicationException"/> carrying its message.
/// </summary>
public interface ISyncTransport
{
    /// <summary>Sends one request of <paramref name="step"/> and returns the response body.</summary>
    Task<Stream> SendAsync(SyncStep step, Func<Stream, CancellationToken, Task> writeRequest, CancellationToken cancellationToken = default);
}
