using VirtualCluster.Replication.Delta;
using VirtualCluster.Replication.Wire;

namespace VirtualCluster.Replication.Sync;

/// <summary>The two exchanges of a sync.</summary>
public enum SyncStep
{
    /// <summary>The sender's manifest goes out; the receiver's plan (what it needs, with signatures) comes back.</summary>
    Plan,
    /// <summary>The deltas go out; the receiver verifies all of them, commits, and answers with its commit.</summary>
    Apply,
}

/// <summary>A file entry of a manifest, with the basis the sender keeps a signature of (what the receiver last acknowledged).</summary>
internal sealed record ManifestEntry(TreeEntry Entry, long HintSize, long HintTicks)
{
    public bool HasHint => HintSize >= 0;
}

/// <summary>What the receiver needs of one file: where its basis comes from.</summary>
internal enum BasisKind : byte { None = 0, Cached = 1, Inline = 2 }

internal sealed record Need(int Index, BasisKind Kind, Signature? Signature);

/// <summary>
/// Wire formats (inside one Brotli stream each). Manifest: magic, count, then per entry kind, the length of the
/// prefix shared with the previous path, the rest of the path, and the kind's fields. Plan: magic, session, a
/// commit flag, count, then per need the index delta, the basis kind and an inline signature when there is one.
/// </summary>
internal static class SyncMessages
{
    public const uint ManifestMagic = 0x314E4D56; // "VMN1"
    public const uint PlanMagic = 0x314C5056;     // "VPL1"
    public const uint BundleMagic = 0x31444256;   // "VBD1"
    public const byte BundleEnd = 0xEE;

    public static void WriteManifest(WireWriter writer, IReadOnlyList<ManifestEntry> entries)
    {
        writer.Varint(ManifestMagic);
        writer.Varint((ulong)entries.Count);
        var previous = "";
        foreach (var (entry, hintSize, hintTicks) in entries)
        {
            var shared = 0;
            var limit = Math.Min(previous.Length, entry.Path.Length);
            while (shared < limit && previous[shared] == entry.Path[shared]) shared++;
            writer.Byte((byte)((byte)entry.Kind | (hintSize >= 0 ? 0x80 : 0)));
            writer.Varint((ulong)shared);
            writer.String(entry.Path[shared..]);
            previous = entry.Path;
            switch (entry.Kind)
            {
                case EntryKind.File:
                    writer.Varint(entry.Size);
                    writer.Varint(entry.ModifiedTicks);
                    writer.Varint((ulong)entry.Mode);
                    if (hintSize >= 0) { writer.Varint(hintSize); writer.Varint(hintTicks); }
                    break;
                case EntryKind.Directory:
                    writer.Varint(entry.ModifiedTicks);
                    writer.Varint((ulong)entry.Mode);
                    break;
                case EntryKind.Symlink:
                    writer.String(entry.LinkTarget!);
                    break;
            }
        }
    }

    /// <summary>Reads and checks a manifest: safe paths in strict order, every parent a directory of the manifest.</summary>
    public static List<ManifestEntry> ReadManifest(WireReader reader, int maxEntries)
    {
        if (reader.Varint("manifest magic", uint.MaxValue) != ManifestMagic) throw reader.Corrupt("it does not start with the manifest magic");
        var count = reader.Int("entry count", maxEntries);
        var entries = new List<ManifestEntry>(Math.Min(count, 65536));
        var directories = new HashSet<string>(StringComparer.Ordinal);
        var previous = "";
        for (var i = 0; i < count; i++)
        {
            var flags = reader.Byte("entry kind");
            var kind = (EntryKind)(flags & 0x7F);
            var shared = reader.Int("shared prefix", previous.Length);
            var path = string.Concat(previous.AsSpan(0, shared), reader.String("path", SafePath.MaxLength));
            SafePath.CheckRelative(path);
            if (string.CompareOrdinal(path, previous) <= 0 && i > 0) throw reader.Corrupt($"\"{path}\" is out of order or repeated");
            var slash = path.LastIndexOf('/');
            if (slash > 0 && !directories.Contains(path[..slash])) throw new UnsafePathException(path, "its parent is not a directory of the manifest");
            previous = path;
            long hintSize = -1, hintTicks = 0;
            TreeEntry entry = kind switch
            {
                EntryKind.File => new TreeEntry(path, kind, reader.Long("size", long.MaxValue / 2), reader.Long("mtime", DateTime.MaxValue.Ticks), reader.Int("mode", 0xFFF), null),
                EntryKind.Directory => new TreeEntry(path, kind, 0, reader.Long("mtime", DateTime.MaxValue.Ticks), reader.Int("mode", 0xFFF), null),
                EntryKind.Symlink => new TreeEntry(path, kind, 0, 0, 0, reader.String("symlink target", SafePath.MaxLength)),
                _ => throw reader.Corrupt($"unknown entry kind {flags & 0x7F} at \"{path}\""),
            };
            if (kind == EntryKind.Symlink) SafePath.CheckLinkTarget(path, entry.LinkTarget!);
            if (kind == EntryKind.Directory) directories.Add(path);
            if ((flags & 0x80) != 0 && kind == EntryKind.File)
            {
                hintSize = reader.Long("hint size", long.MaxValue / 2);
                hintTicks = reader.Long("hint mtime", DateTime.MaxValue.Ticks);
            }
            entries.Add(new ManifestEntry(entry, hintSize, hintTicks));
        }
        return entries;
    }

    public static void WritePlan(WireWriter writer, ulong session, bool commit, IReadOnlyList<Need> needs)
    {
        writer.Varint(PlanMagic);
        writer.Varint(session);
        writer.Byte(commit ? (byte)1 : (byte)0);
        writer.Varint((ulong)needs.Count);
        var last = -1;
        foreach (var need in needs)
        {
            writer.Varint((ulong)(need.Index - last));
            last = need.Index;
            writer.Byte((byte)need.Kind);
            if (need.Kind == BasisKind.Inline) need.Signature!.Write(writer);
        }
    }

    public static (ulong Session, bool Commit, List<Need> Needs) ReadPlan(WireReader reader, int entryCount)
    {
        if (reader.Varint("plan magic", uint.MaxValue) != PlanMagic) throw reader.Corrupt("it does not start with the plan magic");
        var session = reader.Varint("session", ulong.MaxValue);
        var commit = reader.Byte("commit flag") != 0;
        var count = reader.Int("need count", entryCount);
        var needs = new List<Need>(count);
        var index = -1;
        for (var i = 0; i < count; i++)
        {
            index += reader.Int("need index", entryCount);
            if (index >= entryCount) throw reader.Corrupt($"need index {index} is beyond the {entryCount} entries");
            var kind = (BasisKind)reader.Byte("basis kind");
            var signature = kind switch
            {
                BasisKind.None or BasisKind.Cached => null,
                BasisKind.Inline => Signature.Read(reader),
                _ => throw reader.Corrupt($"unknown basis kind {(byte)kind}"),
            };
            needs.Add(new Need(index, kind, signature));
        }
        return (session, commit, needs);
    }
}
