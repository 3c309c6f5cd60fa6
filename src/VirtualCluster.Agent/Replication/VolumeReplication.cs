using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using VirtualCluster.Api;
using VirtualCluster.Replication.Volumes;

namespace VirtualCluster.Agent.Replication;

/// <summary>
/// Runs one <see cref="VolumeReplicator"/> per replicated volume and holder of every instance this node runs, as the
/// control plane's assignments say (holders change, instances go, a new epoch replaces an old one), and reports where
/// each stands for the heartbeat. Syncs carry the instance's epoch, so once a replacement has synced, the holders
/// refuse this node's older data should it come back from being declared down.
/// </summary>
internal sealed partial class VolumeReplication(AgentOptions options, Func<string?> token, TimeProvider time, ILoggerFactory loggers, ReplicaTls? tls = null)
    : IAsyncDisposable
{
    private readonly ILogger _logger = loggers.CreateLogger<VolumeReplication>();
    private readonly ConcurrentDictionary<Key, Running> _running = new();

    private readonly record struct Key(string InstanceId, long Epoch, string Volume, string Holder, string Address, int Port);

    private sealed record Running(VolumeReplicator Replicator, string Volume, string Holder, long Epoch);

    /// <summary>The volume directory of an instance (where the drivers create it).</summary>
    public string VolumePath(string instanceId, string volume) => Path.Combine(options.DataDirectory, "instances", instanceId, "volumes", volume);

    /// <summary>
    /// Starts replicators for what <paramref name="assignments"/> ask (once the volume exists, i.e. the instance was
    /// started) and stops the others. <paramref name="replicate"/> says which instances may replicate now (a fenced
    /// singleton may not: it no longer owns its data).
    /// </summary>
    public async Task ApplyAsync(IReadOnlyList<Assignment> assignments, string nodeId, Func<Assignment, bool> replicate)
    {
        var desired = new Dictionary<Key, (Assignment Assignment, VolumeSpec Volume)>();
        foreach (var a in assignments)
        {
            if (a.VolumeSet is null || a.Holders is not { Count: > 0 } holders || !replicate(a)) continue;
            foreach (var volume in a.Spec.Volumes.Where(v => v.Replicas > 0))
            {
                if (!Directory.Exists(VolumePath(a.InstanceId, volume.Name))) continue;
                foreach (var h in holders.Where(h => h.NodeId != nodeId && h.Port is > 0 and <= 65535))
                    desired[new Key(a.InstanceId, a.Epoch, volume.Name, h.NodeId, h.Address, h.Port)] = (a, volume);
            }
        }
        foreach (var (key, running) in _running.ToList())
        {
            if (desired.ContainsKey(key) || !_running.TryRemove(key, out _)) continue;
            LogStopped(_logger, key.InstanceId, key.Volume, key.Holder);
            await running.Replicator.DisposeAsync();
        }
        foreach (var (key, (assignment, volume)) in desired)
        {
            if (_running.ContainsKey(key)) continue;
            if (await EndPointAsync(key.Address, key.Port) is not { } endPoint)
            {
                LogUnresolved(_logger, key.Holder, key.Address);
                continue;
            }
            var id = VolumeIds.For(assignment.VolumeSet!, volume.Name);
            var transport = new TcpSyncTransport(endPoint, id, assignment.Epoch, () => token() ?? "") { Tls = tls, HolderNodeId = key.Holder };
            var interval = volume.SyncInterval;
            var replicator = new VolumeReplicator(id, VolumePath(key.InstanceId, volume.Name), transport,
                new VolumeReplicatorOptions { SyncInterval = interval, Debounce = interval < TimeSpan.FromMilliseconds(200) ? interval : TimeSpan.FromMilliseconds(200) },
                time: time, logger: loggers.CreateLogger<VolumeReplicator>());
            _running[key] = new Running(replicator, volume.Name, key.Holder, assignment.Epoch);
            replicator.Start();
            LogStarted(_logger, key.InstanceId, volume.Name, key.Holder, endPoint.ToString() ?? key.Address);
        }
    }

    /// <summary>
    /// Syncs every replicated volume of <paramref name="instanceId"/> to each holder once more and waits until the holders
    /// committed (the final sync of a planned move, after the workload stopped). Returns the syncs done and the first error.
    /// </summary>
    public async Task<(int Synced, string? Error)> FinalSyncAsync(string instanceId, CancellationToken ct)
    {
        var synced = 0;
        string? error = null;
        foreach (var (key, running) in _running.Where(r => r.Key.InstanceId == instanceId).ToList())
        {
            try
            {
                await running.Replicator.SyncNowAsync(ct);
                synced++;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                error ??= $"volume {key.Volume} to {key.Holder}: {e.Message}";
            }
        }
        return (synced, error);
    }

    /// <summary>Where the replication of each volume of <paramref name="instanceId"/> stands, per holder; null when it has none.</summary>
    public IReadOnlyList<VolumeSyncReport>? Report(string instanceId)
    {
        List<VolumeSyncReport>? reports = null;
        foreach (var (key, running) in _running)
        {
            if (key.InstanceId != instanceId) continue;
            var s = running.Replicator.Status;
            (reports ??= []).Add(new VolumeSyncReport(running.Volume, running.Holder, running.Epoch, s.Sequence, s.LastSyncAt, s.LagSeconds, s.BytesBehind, s.LastError));
        }
        return reports;
    }

    private static async Task<EndPoint?> EndPointAsync(string address, int port)
    {
        if (IPAddress.TryParse(address, out var ip)) return new IPEndPoint(ip, port);
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(address);
            return addresses.Length > 0 ? new IPEndPoint(addresses[0], port) : null;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var key in _running.Keys.ToList())
            if (_running.TryRemove(key, out var running)) await running.Replicator.DisposeAsync();
    }

    [LoggerMessage(2303, LogLevel.Information, "Replicating volume {Volume} of {Instance} to {Holder} at {EndPoint}")]
    private static partial void LogStarted(ILogger logger, string instance, string volume, string holder, string endPoint);

    [LoggerMessage(2304, LogLevel.Information, "Stopped replicating volume {Volume} of {Instance} to {Holder}")]
    private static partial void LogStopped(ILogger logger, string instance, string volume, string holder);

    [LoggerMessage(2305, LogLevel.Warning, "Replica holder {Holder} at {Address} cannot be resolved; retrying at the next assignment")]
    private static partial void LogUnresolved(ILogger logger, string holder, string address);
}
