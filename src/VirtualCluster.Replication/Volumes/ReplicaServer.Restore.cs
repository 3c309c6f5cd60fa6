using VirtualCluster.Replication.Sync;

namespace VirtualCluster.Replication.Volumes;

public sealed partial class ReplicaServer
{
    /// <summary>
    /// Copies the replica of <paramref name="volumeId"/> to <paramref name="target"/>, which must not exist yet: the
    /// start of a failover replacement on this node. The copy is taken under the volume's sync lock, so it is one
    /// committed sync, never half of the next one; it is built next to the target and renamed into place, so a crash
    /// leaves no half-filled volume. Files, directories and relative symlinks are copied with their modes and mtimes;
    /// the receiver's own staging files are not. Returns the epoch the replica was written at, or null when this node
    /// holds no replica of that volume.
    /// </summary>
    public long? RestoreTo(string volumeId, string target)
    {
        if (ReplicaProtocol.CheckVolumeId(volumeId) is { } invalid) throw new ReplicationException(invalid);
        var source = ReplicaPath(volumeId);
        if (!Directory.Exists(source)) return null;
        target = Path.GetFullPath(target);
        if (Path.Exists(target)) throw new IOException($"\"{target}\" already exists; a volume is only restored into a new instance");
        var receiver = _receivers.GetOrAdd(volumeId, id => new DirectorySyncReceiver(ReplicaPath(id), _options));
        var building = target + TreeScanner.ReservedPrefix + "restore";
        lock (receiver)
        {
            if (Directory.Exists(building)) Directory.Delete(building, recursive: true);
            CopyTree(source, building);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            Directory.Move(building, target);
            return Epoch(volumeId);
        }
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var entry in new DirectoryInfo(from).EnumerateFileSystemInfos())
        {
            if (entry.Name.StartsWith(TreeScanner.ReservedPrefix, StringComparison.Ordinal)) continue;
            var destination = Path.Combine(to, entry.Name);
            if (entry.LinkTarget is { } link)
            {
                File.CreateSymbolicLink(destination, link); // targets were checked to stay inside the volume when they synced
                continue;
            }
            if (entry is DirectoryInfo directory)
            {
                CopyTree(directory.FullName, destination);
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(destination, directory.UnixFileMode);
                Directory.SetLastWriteTimeUtc(destination, directory.LastWriteTimeUtc);
                continue;
            }
            var file = (FileInfo)entry;
            using (var input = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
            using (var output = new FileStream(destination, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                input.CopyTo(output);
                output.Flush(flushToDisk: true);
            }
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(destination, file.UnixFileMode);
            File.SetLastWriteTimeUtc(destination, file.LastWriteTimeUtc);
        }
    }
}
