using System.Globalization;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.ClusterState;

// The layout version, the index back-fill for state written before the indexes, and imports from older stores.
public sealed partial class KvClusterStore
{
    /// <summary>Layout 2: instance id and node indexes, chunked deploys. Layout 1 (no <c>layout</c> key) had neither.</summary>
    private const string CurrentLayout = "2";

    private string LayoutKey => $"{_p}layout";
    private string EpochFloorKey => $"{_p}epoch-floor";

    /// <summary>
    /// Once per store object: when the state predates the indexes, builds them. The
    /// back-fill writes are unfenced but conditioned on each instance record being unchanged, so any control plane may
    /// run it at once with the leader: an index entry is only written for the record it was derived from.
    /// </summary>
    private async Task EnsureLayoutAsync(CancellationToken cancellationToken)
    {
        if (_layoutReady) return;
        await _layoutGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_layoutReady) return;
            var layout = await _kv.GetAsync(LayoutKey, cancellationToken).ConfigureAwait(false);
            if (layout?.Value != CurrentLayout)
            {
                var records = (await _kv.ListAsync($"{_p}instances/", cancellationToken).ConfigureAwait(false)).Entries;
                foreach (var record in records)
                {
                    var instance = FromJson<ServiceInstance>(record.Value);
                    if (!IsSegment(instance.NodeId)) continue;
                    await _kv.TransactAsync([KvCondition.Unchanged(record.Key, record)],
                        [KvOperation.Put(InstanceIdKey(instance.Id), instance.Service), KvOperation.Put(NodeInstanceKey(instance.NodeId, instance.Id), instance.Service)],
                        cancellationToken).ConfigureAwait(false);
                }
                await _kv.TransactAsync([KvCondition.Unchanged(LayoutKey, layout)], [KvOperation.Put(LayoutKey, CurrentLayout)], cancellationToken).ConfigureAwait(false);
            }
            _layoutReady = true;
        }
        finally
        {
            _layoutGate.Release();
        }
    }

    /// <summary>
    /// For imports from an older store: makes every epoch handed out from now on greater than <paramref name="epoch"/>.
    /// Must run before the control plane hands out epochs; never lowers the floor.
    /// </summary>
    public async Task RaiseEpochFloorAsync(long epoch, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        await EnsureLayoutAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var current = await _kv.GetAsync(EpochFloorKey, cancellationToken).ConfigureAwait(false);
            var value = current is null ? 0 : long.Parse(current.Value, CultureInfo.InvariantCulture);
            if (value >= epoch) return;
            if (await CommitAsync([KvCondition.Unchanged(EpochFloorKey, current)], [KvOperation.Put(EpochFloorKey, epoch.ToString(CultureInfo.InvariantCulture))], cancellationToken).ConfigureAwait(false))
                return;
            ThrowIfTooManyAttempts(attempt, "raise the epoch floor");
        }
    }

    /// <summary>
    /// For imports from an older store: stores an event with its own sequence (replacing one stored with that sequence)
    /// and moves the event counter up to it, so later events continue after the imported ones.
    /// </summary>
    public async Task ImportEventAsync(ClusterEvent clusterEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clusterEvent);
        ArgumentOutOfRangeException.ThrowIfLessThan(clusterEvent.Sequence, 1, "clusterEvent.Sequence");
        for (var attempt = 0; ; attempt++)
        {
            var counter = await _kv.GetAsync(EventCounterKey, cancellationToken).ConfigureAwait(false);
            var last = counter is null ? 0 : long.Parse(counter.Value, CultureInfo.InvariantCulture);
            List<KvOperation> operations = [KvOperation.Put(EventKey(clusterEvent.Sequence), ToJson(clusterEvent))];
            if (clusterEvent.Sequence > last)
                operations.Add(KvOperation.Put(EventCounterKey, clusterEvent.Sequence.ToString(CultureInfo.InvariantCulture)));
            if (await CommitAsync([KvCondition.Unchanged(EventCounterKey, counter)], operations, cancellationToken).ConfigureAwait(false)) return;
            ThrowIfTooManyAttempts(attempt, "import an event");
        }
    }
}
