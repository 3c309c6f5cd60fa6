using System.Diagnostics;
using VirtualCluster.Replication.Delta;
using VirtualCluster.Replication.Wire;

namespace VirtualCluster.Replication.Sync;

/// <summary>
/// The sending side of a directory sync from <see cref="Root"/>. Each <see cref="SyncAsync"/> sends the manifest,
/// gets the receiver's plan, streams one delta per needed file and returns once the receiver committed. The sender
/// keeps, per file, the signature of the content the receiver last acknowledged (signed in the same pass that sent
/// it, with finer blocks since it never crosses the wire); the manifest carries that version's size and mtime as a
/// hint, and a receiver that still holds it answers "cached" instead of sending a signature. In steady state a sync
/// therefore costs the manifest and the deltas, with no signature round trip. Not thread-safe: one sync at a time.
/// </summary>
public sealed class DirectorySyncSender
{
    private readonly ReplicationOptions _options;
    private readonly Dictionary<string, Acknowledged> _acknowledged = new(StringComparer.Ordinal);

    private sealed record Acknowledged(long Size, long ModifiedTicks, Signature Signature);

    /// <summary>A sender of the tree under <paramref name="root"/>.</summary>
    public DirectorySyncSender(string root, ReplicationOptions? options = null)
    {
        Root = Path.GetFullPath(root);
        _options = options ?? new ReplicationOptions();
    }

    /// <summary>The directory this sender reads.</summary>
    public string Root { get; }

    /// <summary>Syncs the tree to the receiver behind <paramref name="transport"/>.</summary>
    public async Task<SyncReport> SyncAsync(ISyncTransport transport, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var tree = await Task.Run(() => TreeScanner.Scan(Root), cancellationToken).ConfigureAwait(false);
        var manifest = tree.Select(Hinted).ToList();
        long sent = 0, received = 0;
        var planBody = await transport.SendAsync(SyncStep.Plan, (stream, ct) => Task.Factory.StartNew(() =>
        {
            using var counted = new CountingStream(stream, n => sent += n);
            using var output = DeltaCompression.Compress(counted, _options.CompressionQuality);
            var writer = new WireWriter(output);
            SyncMessages.WriteManifest(writer, manifest);
            writer.FlushBuffer();
        }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default), cancellationToken).ConfigureAwait(false);
        (ulong Session, bool Commit, List<Need> Needs) plan;
        await using (planBody.ConfigureAwait(false))
        {
            using var counted = new ReadCountingStream(planBody);
            using var input = DeltaCompression.Decompress(counted);
            plan = SyncMessages.ReadPlan(new WireReader(input, "plan"), manifest.Count);
            received += counted.Count;
        }
        if (!plan.Commit) return new SyncReport(manifest.Count, 0, 0, 0, sent, received, Stopwatch.GetElapsedTime(started));

        var signed = new Dictionary<string, Acknowledged>(StringComparer.Ordinal);
        long literal = 0, copied = 0;
        var response = await transport.SendAsync(SyncStep.Apply, (stream, ct) => Task.Factory.StartNew(() =>
        {
            using var counted = new CountingStream(stream, n => sent += n);
            using var output = DeltaCompression.Compress(counted, _options.CompressionQuality);
            var writer = new WireWriter(output);
            writer.Varint(SyncMessages.BundleMagic);
            writer.Varint(plan.Session);
            writer.FlushBuffer();
            foreach (var need in plan.Needs)
            {
                ct.ThrowIfCancellationRequested();
                var entry = manifest[need.Index].Entry;
                var basis = need.Kind switch
                {
                    BasisKind.Cached => _acknowledged.TryGetValue(entry.Path, out var known) ? known.Signature
                        : throw new ReplicationException($"the receiver asked to use a cached signature of \"{entry.Path}\" that this sender does not hold; sync again"),
                    BasisKind.Inline => need.Signature,
                    _ => null,
                };
                var builder = new SignatureBuilder(_options.CachedBlockSize(entry.Size));
                using var file = new FileStream(Path.Join(Root, entry.Path), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
                var stats = new DeltaWriter(basis).Write(file, output, builder);
                literal += stats.LiteralBytes;
                copied += stats.CopiedBytes;
                signed[entry.Path] = new Acknowledged(stats.TargetLength, entry.ModifiedTicks, builder.Build());
            }
            writer.Byte(SyncMessages.BundleEnd);
            writer.FlushBuffer();
        }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default), cancellationToken).ConfigureAwait(false);
        await using (response.ConfigureAwait(false))
            received += await DrainAsync(response, cancellationToken).ConfigureAwait(false);

        // The receiver committed: what it now holds is what was signed.
        var present = new HashSet<string>(tree.Select(e => e.Path), StringComparer.Ordinal);
        foreach (var path in _acknowledged.Keys.Where(p => !present.Contains(p)).ToList()) _acknowledged.Remove(path);
        foreach (var (path, known) in signed) _acknowledged[path] = known;
        return new SyncReport(manifest.Count, plan.Needs.Count, literal, copied, sent, received, Stopwatch.GetElapsedTime(started));
    }

    private ManifestEntry Hinted(TreeEntry entry) =>
        entry.Kind == EntryKind.File && _acknowledged.TryGetValue(entry.Path, out var known) && (known.Size != entry.Size || known.ModifiedTicks != entry.ModifiedTicks)
            ? new ManifestEntry(entry, known.Size, known.ModifiedTicks)
            : new ManifestEntry(entry, -1, 0);

    private static async Task<long> DrainAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0) total += read;
        return total;
    }

    /// <summary>
    /// Bytes of files that differ (size or mtime) from what the receiver last acknowledged, and files it does not have:
    /// what the next sync has to bring over, by a scan of sizes and times only.
    /// </summary>
    public long MeasurePendingBytes()
    {
        long pending = 0;
        foreach (var entry in TreeScanner.Scan(Root))
        {
            if (entry.Kind != EntryKind.File) continue;
            if (!_acknowledged.TryGetValue(entry.Path, out var known) || known.Size != entry.Size || known.ModifiedTicks != entry.ModifiedTicks)
                pending += entry.Size;
        }
        return pending;
    }

    /// <summary>Forgets what the receiver acknowledged (a new receiver, or one that lost its data): the next sync asks for signatures.</summary>
    public void ForgetReceiver() => _acknowledged.Clear();
}

/// <summary>What one sync did.</summary>
/// <param name="Entries">Entries in the manifest.</param>
/// <param name="FilesSent">Files the receiver needed.</param>
/// <param name="LiteralBytes">Bytes sent as literals, before compression.</param>
/// <param name="CopiedBytes">Bytes the receiver took from its own basis files.</param>
/// <param name="BytesSent">Bytes sender to receiver, as on the wire (compressed).</param>
/// <param name="BytesReceived">Bytes receiver to sender.</param>
/// <param name="Elapsed">Wall time of the sync.</param>
public sealed record SyncReport(int Entries, int FilesSent, long LiteralBytes, long CopiedBytes, long BytesSent, long BytesReceived, TimeSpan Elapsed);
