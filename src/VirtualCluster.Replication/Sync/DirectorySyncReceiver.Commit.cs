namespace VirtualCluster.Replication.Sync;

public sealed partial class DirectorySyncReceiver
{
    /// <summary>
    /// Makes the tree match the manifest once every file is staged and verified. Entries go parents first, so each
    /// path's ancestors are real directories by the time it is written (a symlink or file in the way of a directory is
    /// removed first, never followed); files arrive by rename, so a reader sees the old or the new file, never a part.
    /// </summary>
    private void Commit(Session session, string staging)
    {
        var needed = new Dictionary<int, int>();
        for (var n = 0; n < session.Needs.Count; n++) needed[session.Needs[n].Index] = n;
        var local = session.Local;
        for (var i = 0; i < session.Manifest.Count; i++)
        {
            var entry = session.Manifest[i].Entry;
            var full = SafePath.Under(Root, entry.Path);
            local.TryGetValue(entry.Path, out var have);
            switch (entry.Kind)
            {
                case EntryKind.Directory:
                    if (have is not null && have.Kind != EntryKind.Directory) Remove(full, have.Kind);
                    Directory.CreateDirectory(full);
                    break;
                case EntryKind.File:
                    if (needed.TryGetValue(i, out var staged))
                    {
                        if (have is { Kind: EntryKind.Directory }) Remove(full, EntryKind.Directory);
                        var temporary = Path.Combine(staging, staged.ToString(System.Globalization.CultureInfo.InvariantCulture));
                        SetMetadata(temporary, entry);
                        Rename.Over(temporary, full);
                    }
                    else if (have is not null && have.Mode != entry.Mode) SetMetadata(full, entry);
                    break;
                case EntryKind.Symlink:
                    if (have is { Kind: EntryKind.Symlink } && have.LinkTarget == entry.LinkTarget) break;
                    if (have is { Kind: EntryKind.Directory }) Remove(full, EntryKind.Directory);
                    var link = Path.Combine(staging, "link");
                    File.CreateSymbolicLink(link, entry.LinkTarget!);
                    Rename.Over(link, full);
                    break;
            }
        }
        var wanted = new HashSet<string>(session.Manifest.Select(m => m.Entry.Path), StringComparer.Ordinal);
        foreach (var (path, entry) in local.OrderByDescending(p => p.Key, StringComparer.Ordinal))
        {
            if (wanted.Contains(path)) continue;
            RemoveIfPresent(SafePath.Under(Root, path));
        }
        // Directory mtimes last and deepest first: every change inside a directory moves its mtime.
        for (var i = session.Manifest.Count - 1; i >= 0; i--)
        {
            var entry = session.Manifest[i].Entry;
            if (entry.Kind == EntryKind.Directory) SetMetadata(SafePath.Under(Root, entry.Path), entry);
        }
    }

    private static void SetMetadata(string full, TreeEntry entry)
    {
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(full, (UnixFileMode)entry.Mode);
        if (entry.Kind == EntryKind.Directory) Directory.SetLastWriteTimeUtc(full, new DateTime(entry.ModifiedTicks, DateTimeKind.Utc));
        else File.SetLastWriteTimeUtc(full, new DateTime(entry.ModifiedTicks, DateTimeKind.Utc));
    }

    /// <summary>Removes what is at <paramref name="full"/> unless an earlier step (a directory replaced by a file) already did.</summary>
    private static void RemoveIfPresent(string full)
    {
        var info = new FileInfo(full);
        if (info.LinkTarget is not null || info.Exists) File.Delete(full);
        else if (Directory.Exists(full)) Directory.Delete(full, recursive: true);
    }

    private static void Remove(string full, EntryKind kind)
    {
        if (kind == EntryKind.Directory) Directory.Delete(full, recursive: true);
        else File.Delete(full);
    }
}
