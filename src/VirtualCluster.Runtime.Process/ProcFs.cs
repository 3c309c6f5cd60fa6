using System.Globalization;
using System.Runtime.InteropServices;

namespace VirtualCluster.Runtime.Process;

/// <summary>What <c>/proc/&lt;pid&gt;/stat</c> tells about one process.</summary>
/// <param name="Pid">Process id.</param>
/// <param name="State">State letter ('R', 'S', 'Z', ...).</param>
/// <param name="ParentPid">Parent process id.</param>
/// <param name="StartTime">Start time in clock ticks since boot (field 22); with the pid it identifies a process despite pid reuse.</param>
internal readonly record struct ProcStat(int Pid, char State, int ParentPid, long StartTime)
{
    /// <summary>False for zombies and dead entries, which only wait to be reaped.</summary>
    public bool IsRunning => State is not ('Z' or 'X' or 'x');
}

/// <summary>Linux process facts from /proc, and signals through libc.</summary>
internal static partial class ProcFs
{
    internal const int SigKill = 9;
    internal const int SigTerm = 15;

    private const string ProcRoot = "/proc";

    /// <summary>Parses the text of <c>/proc/&lt;pid&gt;/stat</c>.</summary>
    internal static bool TryParseStat(string text, out ProcStat stat)
    {
        stat = default;
        // Field 2 (the command name) is in parentheses and may itself hold spaces and ')': split after the last ')'.
        var open = text.IndexOf('(');
        var close = text.LastIndexOf(')');
        if (open <= 0 || close < open) return false;
        if (!int.TryParse(text.AsSpan(0, open).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) return false;
        var fields = text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 (state), fields[1] field 4 (ppid), fields[19] field 22 (starttime).
        if (fields.Length < 20 || fields[0].Length != 1) return false;
        if (!int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent)) return false;
        if (!long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var start)) return false;
        stat = new ProcStat(pid, fields[0][0], parent, start);
        return true;
    }

    /// <summary>The stat of a process, or null when it does not exist (or cannot be read).</summary>
    internal static ProcStat? ReadStat(int pid)
    {
        try
        {
            return TryParseStat(File.ReadAllText(Path.Combine(ProcRoot, pid.ToString(CultureInfo.InvariantCulture), "stat")), out var stat)
                ? stat
                : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>True when the process with this pid and start time still runs (not a zombie, not a reused pid).</summary>
    internal static bool IsAlive(int pid, long startTime) =>
        ReadStat(pid) is { IsRunning: true } stat && stat.StartTime == startTime;

    /// <summary>Every live descendant of <paramref name="rootPid"/> (children, grandchildren, ...).</summary>
    internal static List<ProcStat> Descendants(int rootPid)
    {
        var byParent = new Dictionary<int, List<ProcStat>>();
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateDirectories(ProcRoot);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
        foreach (var entry in entries)
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            if (ReadStat(pid) is not { IsRunning: true } stat) continue;
            if (!byParent.TryGetValue(stat.ParentPid, out var children)) byParent[stat.ParentPid] = children = [];
            children.Add(stat);
        }
        var result = new List<ProcStat>();
        var pending = new Queue<int>([rootPid]);
        while (pending.TryDequeue(out var parent))
        {
            if (!byParent.TryGetValue(parent, out var children)) continue;
            foreach (var child in children)
            {
                // Guards against a pid-reuse cycle in a racy snapshot.
                if (child.Pid == rootPid || result.Contains(child)) continue;
                result.Add(child);
                pending.Enqueue(child.Pid);
            }
        }
        return result;
    }

    /// <summary>This boot's id; with it a pid file from before a reboot never matches a new process.</summary>
    internal static string BootId()
    {
        try
        {
            return File.ReadAllText(Path.Combine(ProcRoot, "sys/kernel/random/boot_id")).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>Sends a signal; false when the process is gone or not ours to signal.</summary>
    internal static bool Signal(int pid, int signal) => pid > 0 && Kill(pid, signal) == 0;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
