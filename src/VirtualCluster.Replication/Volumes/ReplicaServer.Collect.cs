using System.Collections.Concurrent;
using VirtualCluster.Replication.Sync;

namespace VirtualCluster.Replication.Volumes;

public sealed partial class ReplicaServer
{
    // When a sender last asked to sync each volume here (Environment.TickCount64), so a volume still being pushed is never collected.
    private readonly ConcurrentDictionary<string, long> _lastSync = new(StringComparer.Ordinal);

    /// <summary>The ids of the replicas this server holds now.</summary>
    public IReadOnlyList<string> Volumes() =>
        [.. new DirectoryInfo(DataDirectory).EnumerateDirectories()
            .Select(d => d.Name)
            .Where(n => !n.StartsWith(TreeScanner.ReservedPrefix, StringComparison.Ordinal) && ReplicaProtocol.CheckVolumeId(n) is null)
            .Order(StringComparer.Ordinal)];

    /// <summary>
    /// Deletes the replica of <paramref name="volumeId"/> (its directory and epoch), under the volume's sync lock so
    /// no sync is half applied. Refused (false) when a sender synced it (or asked to) within <paramref name="quietFor"/>: a sender
    /// still pushes it, so someone still wants it.
    /// </summary>
    public bool TryRemove(string volumeId, TimeSpan quietFor)
    {
        if (ReplicaProtocol.CheckVolumeId(volumeId) is { } invalid) throw new ReplicationException(invalid);
        if (_lastSync.TryGetValue(volumeId, out var at) && Environment.TickCount64 - at < quietFor.TotalMilliseconds) return false;
        var receiver = _receivers.GetOrAdd(volumeId, id => new DirectorySyncReceiver(ReplicaPath(id), _options));
        lock (receiver)
        {
            var path = ReplicaPath(volumeId);
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            File.Delete(Path.Combine(DataDirectory, volumeId + ".epoch"));
            _receivers.TryRemove(new KeyValuePair<string, DirectorySyncReceiver>(volumeId, receiver));
            _lastSync.TryRemove(volumeId, out _);
        }
        return true;
    }

    private void Touched(string volumeId) => _lastSync[volumeId] = Environment.TickCount64;
}
