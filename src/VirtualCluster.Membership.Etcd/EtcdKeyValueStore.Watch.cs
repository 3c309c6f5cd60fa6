using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Etcdserverpb;
using Grpc.Core;
using Mvccpb;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Etcd;

// Watches: one etcd watch stream per call, reopened from the last delivered revision after a failure.
public sealed partial class EtcdKeyValueStore
{
    /// <inheritdoc />
    /// <remarks>
    /// When the stream breaks (member restarted, connection lost), it is reopened, on the next member if there are
    /// several, at the revision of the last delivered event; the events of that revision already delivered are
    /// skipped, so nothing is lost or repeated.
    /// </remarks>
    public async IAsyncEnumerable<KvEvent> WatchAsync(string prefix, long afterRevision, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfNegative(afterRevision);
        var events = Channel.CreateBounded<KvEvent>(new BoundedChannelOptions(1000) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pump = PumpAsync(prefix, afterRevision, events.Writer, stop.Token);
        try
        {
            await foreach (var change in events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false)) yield return change;
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await pump.ConfigureAwait(false);
        }
    }

    private async Task PumpAsync(string prefix, long afterRevision, ChannelWriter<KvEvent> output, CancellationToken cancellationToken)
    {
        var lastRevision = afterRevision; // revision of the last delivered event
        var deliveredAtLast = 0;          // how many events of lastRevision were delivered
        Exception? failure = null;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var start = deliveredAtLast > 0 ? lastRevision : lastRevision + 1;
                var skip = deliveredAtLast;
                try
                {
                    using var call = new Watch.WatchClient(_connection.Invoker).Watch(cancellationToken: cancellationToken);
                    var key = _connection.Key(prefix);
                    await call.RequestStream.WriteAsync(new WatchRequest
                    {
                        CreateRequest = new WatchCreateRequest { Key = key, RangeEnd = EtcdConnection.PrefixEnd(key), StartRevision = start },
                    }, cancellationToken).ConfigureAwait(false);
                    while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                    {
                        var response = call.ResponseStream.Current;
                        if (response.CompactRevision > 0) throw new KvHistoryCompactedException(start, response.CompactRevision);
                        if (response.Canceled)
                            throw new KeyValueStoreUnavailableException($"etcd canceled the watch of \"{prefix}\": {response.CancelReason}");
                        foreach (var e in response.Events)
                        {
                            var revision = e.Kv.ModRevision;
                            if (revision < start) continue;
                            if (revision == start && skip > 0)
                            {
                                skip--;
                                continue;
                            }
                            await output.WriteAsync(ToEvent(e), cancellationToken).ConfigureAwait(false);
                            deliveredAtLast = revision == lastRevision ? deliveredAtLast + 1 : 1;
                            lastRevision = revision;
                        }
                    }
                    Log.WatchEnded(_logger, prefix, lastRevision);
                }
                catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
                {
                    Log.WatchBroken(_logger, prefix, _connection.Endpoint, lastRevision, e.Status.Detail);
                    _connection.MoveToNextEndpoint();
                }
                await Task.Delay(_connection.WatchRetryDelay, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (RpcException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is KvHistoryCompactedException or KeyValueStoreUnavailableException)
        {
            failure = e;
        }
        output.TryComplete(failure);
    }

    private KvEvent ToEvent(Event e) => e.Type == Event.Types.EventType.Put
        ? new KvEvent(KvEventKind.Put, _connection.Relative(e.Kv.Key), e.Kv.Value.ToStringUtf8(), e.Kv.ModRevision, e.Kv.CreateRevision,
            e.Kv.Lease == 0 ? null : e.Kv.Lease.ToString(CultureInfo.InvariantCulture))
        : new KvEvent(KvEventKind.Delete, _connection.Relative(e.Kv.Key), null, e.Kv.ModRevision);
}
