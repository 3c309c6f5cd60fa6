using System.Security.Cryptography;

namespace VirtualCluster.Replication.Tests;

/// <summary>A temporary directory (prefix h-repl16-) removed on dispose, and a snapshot of a tree to compare.</summary>
internal sealed class TempTree : IDisposable
{
    public TempTree(string name)
    {
        Root = Path.Combine(Path.GetTempPath(), $"vcrepl-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string this[string relative] => Path.Combine(Root, relative);

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Asserts two trees are the same, naming the entries that differ.</summary>
    public static void AssertSame(string expectedRoot, string actualRoot)
    {
        var expected = Snapshot(expectedRoot);
        var actual = Snapshot(actualRoot);
        var differences = expected.Keys.Union(actual.Keys)
            .Where(k => expected.GetValueOrDefault(k) != actual.GetValueOrDefault(k))
            .Select(k => $"{k}: expected {expected.GetValueOrDefault(k) ?? "(none)"}, got {actual.GetValueOrDefault(k) ?? "(none)"}").ToList();
        Assert.True(differences.Count == 0, string.Join("\n", differences));
    }

    /// <summary>Path → kind, mode, mtime, SHA-256 of content or link target. Directory mtimes are left out when asked.</summary>
    public static SortedDictionary<string, string> Snapshot(string root, bool directoryTimes = true)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var info in new DirectoryInfo(root).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = 0 }))
            Add(info, info.Name, result, directoryTimes);
        return result;
    }

    private static void Add(FileSystemInfo info, string path, SortedDictionary<string, string> result, bool directoryTimes)
    {
        if (info.LinkTarget is { } target) { result[path] = "link " + target; return; }
        if (info is DirectoryInfo directory)
        {
            result[path] = $"dir {Convert.ToString((int)info.UnixFileMode, 8)} {(directoryTimes ? info.LastWriteTimeUtc.Ticks : 0)}";
            foreach (var child in directory.EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = 0 }))
                Add(child, path + "/" + child.Name, result, directoryTimes);
            return;
        }
        var file = (FileInfo)info;
        result[path] = $"file {Convert.ToString((int)info.UnixFileMode, 8)} {info.LastWriteTimeUtc.Ticks} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file.FullName)))}";
    }
}
