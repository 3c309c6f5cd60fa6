namespace VirtualCluster.Replication.Sync;

/// <summary>
/// Checks paths and symlink targets that arrive from a sender, so nothing it sends can reach outside the root.
/// </summary>
internal static class SafePath
{
    public const int MaxLength = 4096;

    /// <summary>A relative path of plain names separated by '/': no "", ".", "..", NUL, backslash or leading '/'.</summary>
    public static void CheckRelative(string path)
    {
        if (path.Length == 0) throw new UnsafePathException(path, "it is empty");
        if (path.Length > MaxLength) throw new UnsafePathException(path[..64] + "...", $"it is longer than {MaxLength} characters");
        if (path[0] == '/' || Path.IsPathRooted(path)) throw new UnsafePathException(path, "it is absolute");
        if (path.Contains('\0') || path.Contains('\\')) throw new UnsafePathException(path, "it contains NUL or a backslash");
        foreach (var part in path.Split('/'))
        {
            if (part.Length == 0) throw new UnsafePathException(path, "it has an empty component (\"//\" or a trailing '/')");
            if (part is "." or "..") throw new UnsafePathException(path, $"it has a \"{part}\" component");
            if (part.StartsWith(TreeScanner.ReservedPrefix, StringComparison.Ordinal)) throw new UnsafePathException(path, $"names starting with \"{TreeScanner.ReservedPrefix}\" are reserved for staging");
        }
    }

    /// <summary>
    /// A symlink target must be relative, may only start with "../" components (never have ".." after a name, which
    /// could climb out of a directory reached through another symlink), and must stay inside the root when resolved
    /// from the link's directory. With every link held to this, following any chain of links stays inside the root.
    /// </summary>
    public static void CheckLinkTarget(string linkPath, string target)
    {
        if (target.Length == 0 || target.Length > MaxLength) throw new UnsafePathException(linkPath, "its symlink target is empty or too long");
        if (target[0] == '/' || Path.IsPathRooted(target)) throw new UnsafePathException(linkPath, $"its symlink target \"{target}\" is absolute");
        if (target.Contains('\0') || target.Contains('\\')) throw new UnsafePathException(linkPath, "its symlink target contains NUL or a backslash");
        var depth = linkPath.Count(c => c == '/');
        var seenName = false;
        foreach (var part in target.Split('/'))
        {
            if (part is "" or ".") continue;
            if (part == "..")
            {
                if (seenName) throw new UnsafePathException(linkPath, $"its symlink target \"{target}\" has \"..\" after a name");
                if (--depth < 0) throw new UnsafePathException(linkPath, $"its symlink target \"{target}\" leads out of the root");
            }
            else seenName = true;
        }
    }

    /// <summary>The full path of a checked relative path under <paramref name="root"/>.</summary>
    public static string Under(string root, string relative) => Path.Join(root, relative);
}
