using System.Globalization;

namespace VirtualCluster.Agent.Monitoring;

/// <summary>Cumulative CPU time from <c>/proc/stat</c>, in clock ticks.</summary>
/// <param name="Busy">Time not idle.</param>
/// <param name="Total">All accounted time.</param>
internal readonly record struct CpuTimes(long Busy, long Total);

/// <summary>The whole-machine CPU line of <c>/proc/stat</c> and how many CPUs it sums.</summary>
internal readonly record struct CpuSample(CpuTimes Times, int CpuCount);

/// <summary>MemTotal and MemAvailable from <c>/proc/meminfo</c>, in bytes.</summary>
internal readonly record struct MemorySample(long TotalBytes, long AvailableBytes);

/// <summary>Parsers for the Linux text files the collector reads. Pure, so they are tested with sample text.</summary>
internal static class LinuxStats
{
    /// <summary>Parses one <c>cpu</c>/<c>cpuN</c> line: "cpu user nice system idle iowait irq softirq steal guest guest_nice".</summary>
    internal static CpuTimes? ParseCpuLine(string line)
    {
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 5 || !fields[0].StartsWith("cpu", StringComparison.Ordinal)) return null;
        // guest and guest_nice are already counted in user and nice, so only the first eight fields add up.
        var values = new long[8];
        for (var i = 0; i < values.Length && i + 1 < fields.Length; i++)
        {
            if (!long.TryParse(fields[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out values[i])) return null;
        }
        var total = values.Sum();
        var idle = values[3] + values[4]; // idle + iowait
        return new CpuTimes(total - idle, total);
    }

    /// <summary>Parses <c>/proc/stat</c>: the aggregate "cpu" line and the number of "cpuN" lines.</summary>
    internal static CpuSample? ParseProcStat(string text)
    {
        CpuTimes? aggregate = null;
        var count = 0;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("cpu ", StringComparison.Ordinal)) aggregate = ParseCpuLine(line);
            else if (line.Length > 3 && line.StartsWith("cpu", StringComparison.Ordinal) && char.IsAsciiDigit(line[3])) count++;
        }
        return aggregate is { } times ? new CpuSample(times, Math.Max(count, 1)) : null;
    }

    /// <summary>
    /// Busy millicores between two samples: the busy share of the elapsed time times the CPU count.
    /// 0 when no time passed or the counters went backwards (e.g. CPU hot-unplug).
    /// </summary>
    internal static long CpuMillicores(CpuTimes previous, CpuTimes current, int cpuCount)
    {
        var total = current.Total - previous.Total;
        var busy = current.Busy - previous.Busy;
        if (total <= 0 || busy < 0) return 0;
        return (long)Math.Round((double)Math.Min(busy, total) / total * cpuCount * 1000);
    }

    /// <summary>
    /// Parses <c>/proc/meminfo</c> (values in kB). Kernels before 3.14 lack MemAvailable; then
    /// MemFree + Buffers + Cached is the usual estimate.
    /// </summary>
    internal static MemorySample? ParseMemInfo(string text)
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0) continue;
            var value = line[(colon + 1)..].Trim();
            if (value.EndsWith(" kB", StringComparison.Ordinal)) value = value[..^3].TrimEnd();
            if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var kilobytes))
            {
                values[line[..colon]] = kilobytes * 1024;
            }
        }
        if (!values.TryGetValue("MemTotal", out var total)) return null;
        var available = values.TryGetValue("MemAvailable", out var a)
            ? a
            : values.GetValueOrDefault("MemFree") + values.GetValueOrDefault("Buffers") + values.GetValueOrDefault("Cached");
        return new MemorySample(total, Math.Min(available, total));
    }

    /// <summary>Parses cgroup v2 <c>cpu.max</c> ("quota period" or "max period") into millicores; null when unlimited or malformed.</summary>
    internal static long? ParseCpuMax(string text)
    {
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (fields.Length == 0 || fields[0] == "max") return null;
        if (!long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var quota)) return null;
        // The period defaults to 100 ms when the file gives only the quota.
        long period = 100_000;
        if (fields.Length > 1 && !long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out period)) return null;
        if (period <= 0) return null;
        return quota * 1000 / period;
    }

    /// <summary>Parses cgroup v2 <c>memory.max</c> into bytes; null when "max" or malformed.</summary>
    internal static long? ParseMemoryMax(string text)
    {
        var value = text.Trim();
        return value != "max" && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) ? bytes : null;
    }

    /// <summary>The cgroup v2 path of a process from <c>/proc/self/cgroup</c> (the "0::/path" line), or null.</summary>
    internal static string? ParseCgroupV2Path(string text)
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("0::", StringComparison.Ordinal)) return line[3..].Trim();
        }
        return null;
    }

    /// <summary>
    /// Bytes received and sent over every interface but loopback, from <c>/proc/net/dev</c> (two header lines, then
    /// "name: rx_bytes rx_packets ... tx_bytes ..." with tx_bytes the 9th figure). Null when nothing could be read.
    /// </summary>
    internal static (long Received, long Sent)? ParseNetDev(string text)
    {
        long received = 0, sent = 0;
        var any = false;
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0) continue;
            var name = line[..colon].Trim();
            if (name == "lo" || name.Length == 0) continue;
            var fields = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 9
                || !long.TryParse(fields[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var rx)
                || !long.TryParse(fields[8], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var tx)) continue;
            received += rx;
            sent += tx;
            any = true;
        }
        return any ? (received, sent) : null;
    }
}
