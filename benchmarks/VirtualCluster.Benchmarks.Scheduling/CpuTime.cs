using System.Runtime.InteropServices;

namespace VirtualCluster.Benchmarks.Scheduling;

/// <summary>CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID), so a busy shared machine does not skew rates.</summary>
internal static partial class CpuTime
{
    private const int ClockThreadCpuTime = 3;

    public static TimeSpan Thread()
    {
        if (!OperatingSystem.IsLinux()) return System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        ClockGetTime(ClockThreadCpuTime, out var spec);
        return TimeSpan.FromTicks(spec.Seconds * TimeSpan.TicksPerSecond + spec.Nanoseconds / 100);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec spec);
}
