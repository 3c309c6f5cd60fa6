using VirtualCluster.Agent.Monitoring;

namespace VirtualCluster.Agent.Tests.Monitoring;

public sealed class LinuxStatsTests
{
    private const string ProcStat = """
        cpu  7618 10 2178 68523 3224 5 24 83 40 0
        cpu0 3403 0 999 36001 372 0 4 34 0 0
        cpu1 4215 10 1179 32522 2852 5 20 49 40 0
        intr 123 0 0
        ctxt 456
        btime 1700000000
        processes 789
        """;

    private const string MemInfo = """
        MemTotal:       24684096 kB
        MemFree:        20000000 kB
        MemAvailable:   24375836 kB
        Buffers:          100000 kB
        Cached:          2000000 kB
        HugePages_Total:       0
        """;

    [Fact]
    public void CpuLine_SumsFirstEightFields_IdleIncludesIowait()
    {
        var times = LinuxStats.ParseCpuLine("cpu  100 10 50 800 40 0 0 0 30 0");

        // guest (30) is already inside user, so it is not added again.
        Assert.Equal(new CpuTimes(Busy: 160, Total: 1000), times);
    }

    [Theory]
    [InlineData("intr 1 2 3 4 5")]
    [InlineData("cpu 1 2 x 4")]
    [InlineData("cpu 1 2")]
    public void CpuLine_RejectsOtherLines(string line) => Assert.Null(LinuxStats.ParseCpuLine(line));

    [Fact]
    public void CpuLine_AcceptsOldKernelsWithFewerFields() =>
        Assert.Equal(new CpuTimes(Busy: 3, Total: 7), LinuxStats.ParseCpuLine("cpu 1 1 1 4"));

    [Fact]
    public void ProcStat_ReadsAggregateAndCountsCpus()
    {
        var sample = LinuxStats.ParseProcStat(ProcStat);

        Assert.NotNull(sample);
        Assert.Equal(2, sample.Value.CpuCount);
        Assert.Equal(7618 + 10 + 2178 + 68523 + 3224 + 5 + 24 + 83, sample.Value.Times.Total);
        Assert.Equal(sample.Value.Times.Total - 68523 - 3224, sample.Value.Times.Busy);
        Assert.Null(LinuxStats.ParseProcStat("intr 1 2\n"));
    }

    [Theory]
    [InlineData(0, 0, 500, 1000, 4, 2000)]   // half busy on 4 CPUs = 2 cores
    [InlineData(100, 1000, 100, 2000, 2, 0)] // idle
    [InlineData(0, 0, 1000, 1000, 2, 2000)]  // fully busy
    [InlineData(0, 1000, 0, 1000, 2, 0)]     // no time passed
    [InlineData(500, 1000, 100, 2000, 2, 0)] // counters went backwards
    public void CpuMillicores_FromTwoSamples(long busy1, long total1, long busy2, long total2, int cpus, long expected) =>
        Assert.Equal(expected, LinuxStats.CpuMillicores(new CpuTimes(busy1, total1), new CpuTimes(busy2, total2), cpus));

    [Fact]
    public void MemInfo_ReadsTotalAndAvailableInBytes()
    {
        var memory = LinuxStats.ParseMemInfo(MemInfo);

        Assert.Equal(new MemorySample(24684096L * 1024, 24375836L * 1024), memory);
    }

    [Fact]
    public void MemInfo_WithoutMemAvailable_EstimatesFromFreeBuffersCached()
    {
        var memory = LinuxStats.ParseMemInfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 30 kB\n");

        Assert.Equal(new MemorySample(1000 * 1024, 150 * 1024), memory);
        Assert.Null(LinuxStats.ParseMemInfo("MemFree: 100 kB\n"));
    }

    [Theory]
    [InlineData("max 100000", null)]
    [InlineData("200000 100000\n", 2000L)]
    [InlineData("50000 100000", 500L)]
    [InlineData("150000 300000", 500L)]
    [InlineData("25000", 250L)]
    [InlineData("garbage", null)]
    [InlineData("1000 0", null)]
    [InlineData("", null)]
    public void CpuMax_ToMillicores(string text, long? expected) => Assert.Equal(expected, LinuxStats.ParseCpuMax(text));

    [Theory]
    [InlineData("max\n", null)]
    [InlineData("536870912\n", 536870912L)]
    [InlineData("-1", null)]
    [InlineData("", null)]
    public void MemoryMax_ToBytes(string text, long? expected) => Assert.Equal(expected, LinuxStats.ParseMemoryMax(text));

    [Theory]
    [InlineData("0::/user.slice/session-1.scope\n", "/user.slice/session-1.scope")]
    [InlineData("12:memory:/docker/abc\n0::/\n", "/")]
    [InlineData("4:memory:/x\n1:cpu:/\n", null)]
    public void CgroupPath_IsTheV2Entry(string text, string? expected) => Assert.Equal(expected, LinuxStats.ParseCgroupV2Path(text));
}
