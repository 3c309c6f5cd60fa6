using System.Security.Cryptography;
using VirtualCluster.Replication.Delta;
using VirtualCluster.Replication.Wire;

namespace VirtualCluster.Replication.Sync;

/// <summary>
/// The receiving side of a directory sync into <see cref="Root"/>. <see cref="Plan"/> compares the sender's manifest
/// with the tree (rsync's quick check on size and mtime) and answers what it needs; <see cref="Apply"/> rebuilds every
/// needed file into a staging directory, verifies each against the SHA-256 its delta carries, and only when all are
/// good commits: renames into place, directories, symlinks, deletions, modes and mtimes. A truncated or corrupt
/// stream therefore leaves the tree exactly as it was. One sync at a time; a new plan replaces an unfinished one.
/// </summary>
public sealed partial class DirectorySyncReceiver
{
    private readonly ReplicationOptions _options;
    private readonly Lock _lock = new();
    private Session? _session;

    /// <summary>A receiver into <paramref name="root"/>, created if missing.</summary>
    public DirectorySyncReceiver(string root, ReplicationOptions? options = null)
    {
        Root = Path.GetFullPath(root);
        _options = options ?? new ReplicationOptions();
        Directory.CreateDirectory(Root);
    }

    /// <summary>The directory this receiver writes.</summary>
    public string Root { get; }

    private string StagingDirectory => Path.Combine(Root, TreeScanner.ReservedPrefix + "staging");

    private sealed record Session(ulong Id, List<ManifestEntry> Manifest, List<(int Index, string? BasisPath)> Needs, Dictionary<string, TreeEntry> Local);

    /// <summary>Handles the plan step: reads the (compressed) manifest from <paramref name="request"/>, writes the plan to <paramref name="response"/>.</summary>
    public void Plan(Stream request, Stream response)
    {
        List<ManifestEntry> manifest;
        using (var input = DeltaCompression.Decompress(request))
            manifest = SyncMessages.ReadManifest(new WireReader(input, "manifest"), _options.MaxEntries);
        lock (_lock)
        {
            // Someone may have removed the copy (by hand, or a new disk mounted there): start it again instead of failing every sync.
            Directory.CreateDirectory(Root);
            var local = TreeScanner.ScanByPath(Root);
            var wanted = new HashSet<string>(manifest.Select(m => m.Entry.Path), StringComparer.Ordinal);
            var renameSources = RenameSources(local, wanted);
            var needs = new List<(int, string?)>();
            var wire = new List<Need>();
            var commit = false;
            for (var i = 0; i < manifest.Count; i++)
            {
                var (entry, hintSize, hintTicks) = manifest[i];
                local.TryGetValue(entry.Path, out var have);
                if (!Same(entry, have)) commit = true;
                if (entry.Kind != EntryKind.File || (have is { Kind: EntryKind.File } && Unchanged(entry, have))) continue;
                if (have is { Kind: EntryKind.File } && hintSize == have.Size && hintTicks == have.ModifiedTicks)
                {
                    needs.Add((i, have.Path));
                    wire.Add(new Need(i, BasisKind.Cached, null));
                    continue;
                }
                var basis = have is { Kind: EntryKind.File } ? have : renameSources.GetValueOrDefault((entry.Size, Path.GetFileName(entry.Path))) ?? renameSources.GetValueOrDefault((entry.Size, ""));
                if (basis is null || basis.Size == 0)
                {
                    needs.Add((i, null));
                    wire.Add(new Need(i, BasisKind.None, null));
                    continue;
                }
                using var file = OpenBasis(basis.Path);
                var signature = Signature.Compute(file, BlockSize.For(file.Length));
                needs.Add((i, basis.Path));
                wire.Add(new Need(i, BasisKind.Inline, signature));
            }
            if (local.Keys.Any(path => !wanted.Contains(path))) commit = true;
            var id = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
            _session = new Session(id, manifest, needs, local);
            using var output = DeltaCompression.Compress(response, _options.CompressionQuality);
            var writer = new WireWriter(output);
            SyncMessages.WritePlan(writer, id, commit || needs.Count > 0, wire);
            writer.FlushBuffer();
        }
    }

    /// <summary>
    /// Local files the manifest drops, by (size, name) and by (size, ""): a new file of the same size, best with the
    /// same name, is probably a rename, and the file it was makes an excellent basis (an unchanged rename costs a
    /// signature and a delta of a few COPY runs instead of the whole file).
    /// </summary>
    private static Dictionary<(long, string), TreeEntry> RenameSources(Dictionary<string, TreeEntry> local, HashSet<string> wanted)
    {
        var sources = new Dictionary<(long, string), TreeEntry>();
        foreach (var (path, entry) in local)
        {
            if (entry.Kind != EntryKind.File || wanted.Contains(path)) continue;
            sources.TryAdd((entry.Size, Path.GetFileName(path)), entry);
            sources.TryAdd((entry.Size, ""), entry);
        }
        return sources;
    }

    private bool Unchanged(TreeEntry wanted, TreeEntry have) =>
        _options.QuickCheck && wanted.Size == have.Size && wanted.ModifiedTicks == have.ModifiedTicks;

    private static bool Same(TreeEntry wanted, TreeEntry? have) => have is not null && wanted.Kind == have.Kind && wanted.Kind switch
    {
        EntryKind.File => wanted.Size == have.Size && wanted.ModifiedTicks == have.ModifiedTicks && wanted.Mode == have.Mode,
        EntryKind.Directory => wanted.Mode == have.Mode && wanted.ModifiedTicks == have.ModifiedTicks,
        _ => wanted.LinkTarget == have.LinkTarget,
    };

    private FileStream OpenBasis(string relative) =>
        new(SafePath.Under(Root, relative), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.RandomAccess);

    /// <summary>
    /// Handles the apply step: reads the bundle of deltas for the current plan from <paramref name="request"/>,
    /// stages and verifies every file, then commits. Throws <see cref="ReplicationException"/> (tree unchanged) when the
    /// bundle is truncated, corrupt, for another plan, or a file fails its hash.
    /// </summary>
    public SyncApplied Apply(Stream request)
    {
        lock (_lock)
        {
            var session = _session ?? throw new ReplicationException("no plan is waiting for this bundle (the receiver restarted or another sync replaced it); sync again");
            _session = null;
            var staging = StagingDirectory;
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            Directory.CreateDirectory(staging);
            try
            {
                long literal = 0, copied = 0;
                using (var input = DeltaCompression.Decompress(request))
                {
                    var reader = new WireReader(input, "bundle");
                    if (reader.Varint("bundle magic", uint.MaxValue) != SyncMessages.BundleMagic) throw reader.Corrupt("it does not start with the bundle magic");
                    if (reader.Varint("session", ulong.MaxValue) != session.Id) throw new ReplicationException("the bundle is for another plan (a newer sync replaced it); sync again");
                    for (var n = 0; n < session.Needs.Count; n++)
                    {
                        var (_, basisPath) = session.Needs[n];
                        using var basis = basisPath is null ? null : OpenBasis(basisPath);
                        using var output = new FileStream(Path.Combine(staging, n.ToString(System.Globalization.CultureInfo.InvariantCulture)), FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024);
                        var stats = DeltaPatcher.Apply(reader, basis, output);
                        output.Flush(flushToDisk: _options.Durable);
                        literal += stats.LiteralBytes;
                        copied += stats.CopiedBytes;
                    }
                    if (reader.Byte("bundle end") != SyncMessages.BundleEnd) throw reader.Corrupt("the bundle does not end where the plan says");
                }
                Commit(session, staging);
                return new SyncApplied(session.Needs.Count, literal, copied);
            }
            finally
            {
                if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            }
        }
    }
}

/// <summary>What an apply step did.</summary>
/// <param name="FilesWritten">Files rebuilt and renamed into place.</param>
/// <param name="LiteralBytes">Bytes that came as literals (uncompressed).</param>
/// <param name="CopiedBytes">Bytes taken from basis files on the receiver.</param>
public sealed record SyncApplied(int FilesWritten, long LiteralBytes, long CopiedBytes);
