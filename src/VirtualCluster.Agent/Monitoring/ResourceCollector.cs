using NodeResources = VirtualCluster.Resources;

namespace VirtualCluster.Agent.Monitoring;

/// <summary>
/// Measures this machine's capacity and utilization from Linux's <c>/proc</c> and cgroup v2 files.
/// Thread-safe; <see cref="SampleUsage"/> is cheap because it compares against the previous sample.
/// </summary>
public sealed class ResourceCollector
{
    private readonly string _dataDirectory;
    private readonly string _procRoot;
    private readonly string _cgroupRoot;
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private CpuTimes? _previousCpu;
    private (long Received, long Sent, long Timestamp)? _previousNet;

    /// <summary>Creates a collector for this machine.</summary>
    /// <param name="dataDirectory">The agent's data directory; disk figures are those of the file system holding it.</param>
    public ResourceCollector(string dataDirectory)
        : this(dataDirectory, "/proc", "/sys/fs/cgroup", TimeProvider.System)
    {
    }

    /// <summary>For tests: read <c>proc</c> and cgroup files from other roots.</summary>
    internal ResourceCollector(string dataDirectory, string procRoot, string cgroupRoot, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        _dataDirectory = Path.GetFullPath(dataDirectory);
        _procRoot = procRoot;
        _cgroupRoot = cgroupRoot;
        // The first usage sample then covers the time since construction instead of reporting nothing.
        _previousCpu = ReadCpu()?.Times;
        _previousNet = ReadNet() is { } net ? (net.Received, net.Sent, _time.GetTimestamp()) : null;
    }

    /// <summary>
    /// Schedulable capacity: CPU is the processor count, lowered to the cgroup v2 <c>cpu.max</c> quota if one is set;
    /// memory is MemTotal, lowered to <c>memory.max</c> if set; disk is the size of the data directory's file system.
    /// </summary>
    public NodeResources GetCapacity()
    {
        var cpu = (long)Environment.ProcessorCount * 1000;
        var memory = ReadMemory()?.TotalBytes ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        foreach (var directory in CgroupDirectories())
        {
            if (ReadFile(Path.Combine(directory, "cpu.max")) is { } cpuMax && LinuxStats.ParseCpuMax(cpuMax) is { } quota)
            {
                cpu = Math.Min(cpu, quota);
            }
            if (ReadFile(Path.Combine(directory, "memory.max")) is { } memoryMax && LinuxStats.ParseMemoryMax(memoryMax) is { } limit)
            {
                memory = Math.Min(memory, limit);
            }
        }
        return new NodeResources(cpu, memory, ReadDisk().Total);
    }

    /// <summary>
    /// Utilization of the whole machine (not only our instances), capped at <see cref="GetCapacity"/> so it reads
    /// against what the node offers: CPU busy since the previous call, memory MemTotal − MemAvailable, disk used on
    /// the data directory's file system. Unreadable figures are 0.
    /// </summary>
    public ResourceUsage SampleUsage()
    {
        var capacity = GetCapacity();
        long cpu = 0;
        if (ReadCpu() is { } sample)
        {
            lock (_lock)
            {
                if (_previousCpu is { } previous) cpu = LinuxStats.CpuMillicores(previous, sample.Times, sample.CpuCount);
                _previousCpu = sample.Times;
            }
        }
        var memory = ReadMemory() is { } m ? m.TotalBytes - m.AvailableBytes : 0;
        var disk = ReadDisk();
        var (received, sent) = NetworkRates();
        return new ResourceUsage(
            Math.Min(cpu, capacity.CpuMillicores),
            Math.Min(memory, capacity.MemoryBytes),
            Math.Min(disk.Total - disk.Available, capacity.DiskBytes),
            received, sent);
    }

    // Bytes per second since the previous sample; a counter that went back (an interface gone, a wrap) counts as 0.
    private (long Received, long Sent) NetworkRates()
    {
        if (ReadNet() is not { } now) return (0, 0);
        var timestamp = _time.GetTimestamp();
        lock (_lock)
        {
            var previous = _previousNet;
            _previousNet = (now.Received, now.Sent, timestamp);
            if (previous is not { } p) return (0, 0);
            var seconds = _time.GetElapsedTime(p.Timestamp, timestamp).TotalSeconds;
            if (seconds <= 0) return (0, 0);
            return ((long)(Math.Max(0, now.Received - p.Received) / seconds), (long)(Math.Max(0, now.Sent - p.Sent) / seconds));
        }
    }

    private (long Received, long Sent)? ReadNet() =>
        ReadFile(Path.Combine(_procRoot, "net", "dev")) is { } text ? LinuxStats.ParseNetDev(text) : null;

    private CpuSample? ReadCpu() =>
        ReadFile(Path.Combine(_procRoot, "stat")) is { } text ? LinuxStats.ParseProcStat(text) : null;

    private MemorySample? ReadMemory() =>
        ReadFile(Path.Combine(_procRoot, "meminfo")) is { } text ? LinuxStats.ParseMemInfo(text) : null;

    /// <summary>
    /// This process's cgroup v2 directory and its ancestors: a limit on any of them applies. Empty without a
    /// unified (v2) hierarchy.
    /// </summary>
    private List<string> CgroupDirectories()
    {
        var result = new List<string>();
        if (!File.Exists(Path.Combine(_cgroupRoot, "cgroup.controllers"))) return result;
        var relative = ReadFile(Path.Combine(_procRoot, "self", "cgroup")) is { } text ? LinuxStats.ParseCgroupV2Path(text) : null;
        var root = Path.GetFullPath(_cgroupRoot);
        var directory = Path.GetFullPath(Path.Combine(root, (relative ?? "/").TrimStart('/')));
        // Stay inside the cgroup mount even if the path is odd.
        if (!directory.StartsWith(root, StringComparison.Ordinal)) directory = root;
        while (true)
        {
            result.Add(directory);
            if (directory.Length <= root.Length) break;
            directory = Path.GetDirectoryName(directory) ?? root;
        }
        return result;
    }

    /// <summary>Total and available bytes of the file system holding the data directory (which may not exist yet).</summary>
    private (long Total, long Available) ReadDisk()
    {
        var path = _dataDirectory;
        while (!Directory.Exists(path) && Path.GetDirectoryName(path) is { } parent) path = parent;
        try
        {
            var drive = new DriveInfo(path);
            return (drive.TotalSize, drive.AvailableFreeSpace);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return (0, 0);
        }
    }

    private static string? ReadFile(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
