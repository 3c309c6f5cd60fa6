namespace VirtualCluster.Replication.Sync;

/// <summary>What a path in a sync root is.</summary>
public enum EntryKind : byte
{
    /// <summary>A regular file.</summary>
    File = 1,
    /// <summary>A directory.</summary>
    Directory = 2,
    /// <summary>A symbolic link (never followed).</summary>
    Symlink = 3,
}

/// <summary>One entry of a tree: path relative to the root with '/' separators, and the metadata a sync preserves.</summary>
internal sealed record TreeEntry(string Path, EntryKind Kind, long Size, long ModifiedTicks, int Mode, string? LinkTarget);

/// <summary>Lists a tree without following symlinks, skipping the sync's own temporary names.</summary>
internal static class TreeScanner
{
    /// <summary>Names the receiver uses for staging; never synced.</summary>
    public const string ReservedPrefix = ".vcsync.";

    public static List<TreeEntry> Scan(string root)
    {
        var entries = new List<TreeEntry>();
        Walk(new DirectoryInfo(root), "", entries);
        entries.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return entries;
    }

    public static Dictionary<string, TreeEntry> ScanByPath(string root) => Scan(root).ToDictionary(e => e.Path, StringComparer.Ordinal);

    private static void Walk(DirectoryInfo directory, string prefix, List<TreeEntry> entries)
    {
        foreach (var info in directory.EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = false, RecurseSubdirectories = false }))
        {
            if (info.Name.StartsWith(ReservedPrefix, StringComparison.Ordinal)) continue;
            var path = prefix + info.Name;
            var entry = Describe(info, path);
            if (entry is null) continue;
            entries.Add(entry);
            if (entry.Kind == EntryKind.Directory) Walk((DirectoryInfo)info, path + "/", entries);
        }
    }

    public static TreeEntry? Describe(FileSystemInfo info, string path)
    {
        if (info.LinkTarget is { } target) return new TreeEntry(path, EntryKind.Symlink, 0, 0, 0, target);
        var mode = OperatingSystem.IsWindows() ? 0 : (int)info.UnixFileMode;
        return info switch
        {
            FileInfo file => new TreeEntry(path, EntryKind.File, file.Length, file.LastWriteTimeUtc.Ticks, mode, null),
            DirectoryInfo => new TreeEntry(path, EntryKind.Directory, 0, info.LastWriteTimeUtc.Ticks, mode, null),
            _ => null,
        };
    }
}
