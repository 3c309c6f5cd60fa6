namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>Process trees and environments read from /proc, to treat an agent and its workloads as one machine.</summary>
internal static class ProcessTree
{
    public const int SigKill = 9;
    public const int SigCont = 18;
    public const int SigStop = 19;

    /// <summary>Every live descendant of <paramref name="root"/>, found through parent pids.</summary>
    public static List<int> Descendants(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var pid in AllPids())
        {
            if (ParentOf(pid) is not { } parent) continue;
            if (!children.TryGetValue(parent, out var list)) children[parent] = list = [];
            list.Add(pid);
        }
        var result = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.Count > 0)
        {
            foreach (var child in children.GetValueOrDefault(queue.Dequeue()) ?? [])
            {
                result.Add(child);
                queue.Enqueue(child);
            }
        }
        return result;
    }

    /// <summary>
    /// Simulates the death of a machine: freezes the agent and everything under it (so nothing can react or
    /// respawn), then SIGKILLs them all. Returns the pids killed.
    /// </summary>
    public static List<int> KillMachine(int agentPid)
    {
        var tree = Descendants(agentPid).Prepend(agentPid).ToList();
        foreach (var pid in tree) Native.Kill(pid, SigStop);
        tree = tree.Union(Descendants(agentPid)).ToList();
        foreach (var pid in tree) Native.Kill(pid, SigKill);
        return tree;
    }

    /// <summary>Pids of live processes whose environment has <paramref name="variable"/>=<paramref name="value"/>.</summary>
    public static List<int> WithEnvironment(string variable, string value)
    {
        var wanted = $"{variable}={value}";
        var result = new List<int>();
        foreach (var pid in AllPids())
        {
            try
            {
                var environ = File.ReadAllText($"/proc/{pid}/environ");
                if (environ.Split('\0').Contains(wanted) && Native.IsAlive(pid)) result.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return result;
    }

    private static IEnumerable<int> AllPids() =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit)).Select(n => int.Parse(n!));

    private static int? ParentOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
        }
        catch (Exception e) when (e is IOException or FormatException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
