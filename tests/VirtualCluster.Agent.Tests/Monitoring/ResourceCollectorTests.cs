using VirtualCluster.Agent.Monitoring;

namespace VirtualCluster.Agent.Tests.Monitoring;

public sealed class ResourceCollectorTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("vc-resources-").FullName;

    private string Proc => Path.Combine(_root, "proc");

    private string Cgroup => Path.Combine(_root, "cgroup");

    public ResourceCollectorTests()
    {
        Directory.CreateDirectory(Path.Combine(Proc, "self"));
        Directory.CreateDirectory(Path.Combine(Cgroup, "agent.slice", "agent.service"));
        WriteProc("stat", "cpu  1000 0 0 9000 0 0 0 0 0 0\ncpu0 500 0 0 4500 0 0 0 0 0 0\ncpu1 500 0 0 4500 0 0 0 0 0 0\n");
        WriteProc("meminfo", "MemTotal: 8000000 kB\nMemAvailable: 6000000 kB\n");
        WriteProc("self/cgroup", "0::/agent.slice/agent.service\n");
        WriteCgroup("cgroup.controllers", "cpu memory\n");
    }

    [Fact]
    public void Capacity_TakesLowestCgroupLimitOnThePath()
    {
        WriteCgroup("agent.slice/cpu.max", "50000 100000\n");
        WriteCgroup("agent.slice/agent.service/cpu.max", "max 100000\n");
        WriteCgroup("agent.slice/memory.max", "max\n");
        WriteCgroup("agent.slice/agent.service/memory.max", "1073741824\n");

        var capacity = new ResourceCollector(_root, Proc, Cgroup).GetCapacity();

        Assert.Equal(Math.Min(500, Environment.ProcessorCount * 1000L), capacity.CpuMillicores);
        Assert.Equal(1073741824, capacity.MemoryBytes);
        Assert.True(capacity.DiskBytes > 0);
    }

    [Fact]
    public void Capacity_WithoutLimits_IsProcessorsAndMemTotal()
    {
        var capacity = new ResourceCollector(_root, Proc, Cgroup).GetCapacity();

        Assert.Equal(Environment.ProcessorCount * 1000L, capacity.CpuMillicores);
        Assert.Equal(8000000L * 1024, capacity.MemoryBytes);
    }

    [Fact]
    public void Capacity_IgnoresCgroupV1Layout()
    {
        File.Delete(Path.Combine(Cgroup, "cgroup.controllers"));
        WriteCgroup("agent.slice/agent.service/memory.max", "1024\n");

        Assert.Equal(8000000L * 1024, new ResourceCollector(_root, Proc, Cgroup).GetCapacity().MemoryBytes);
    }

    [Fact]
    public void Usage_CpuIsBusyShareSinceLastSample()
    {
        var collector = new ResourceCollector(_root, Proc, Cgroup);
        // 1000 more ticks, 250 of them busy, on 2 CPUs: a quarter of 2 cores.
        WriteProc("stat", "cpu  1250 0 0 9750 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\ncpu1 1 0 0 1 0 0 0 0 0 0\n");

        var usage = collector.SampleUsage();

        Assert.Equal(Math.Min(500, Environment.ProcessorCount * 1000L), usage.CpuMillicores);
        Assert.Equal(2000000L * 1024, usage.MemoryBytes);
        Assert.Equal(0, collector.SampleUsage().CpuMillicores);
    }

    [Fact]
    public void RealMachine_HasCapacity_AndUsageWithinIt()
    {
        var collector = new ResourceCollector(Path.Combine(_root, "not", "yet", "created"));

        var capacity = collector.GetCapacity();
        var usage = collector.SampleUsage();

        Assert.True(capacity.CpuMillicores > 0);
        Assert.True(capacity.MemoryBytes > 0);
        Assert.True(capacity.DiskBytes > 0);
        Assert.InRange(usage.CpuMillicores, 0, capacity.CpuMillicores);
        Assert.InRange(usage.MemoryBytes, 1, capacity.MemoryBytes);
        Assert.InRange(usage.DiskBytes, 1, capacity.DiskBytes);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static string NetDev(long ethRx, long ethTx, long loRx) =>
        "Inter-|   Receive                                                |  Transmit\n" +
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
        $"    lo: {loRx} 10 0 0 0 0 0 0 {loRx} 10 0 0 0 0 0 0\n" +
        $"  eth0: {ethRx} 100 0 0 0 0 0 0 {ethTx} 90 0 0 0 0 0 0\n" +
        "  wg0: 1000 1 0 0 0 0 0 0 500 1 0 0 0 0 0 0\n";

    [Fact]
    public void Usage_NetworkIsBytesPerSecondSinceLastSampleWithoutLoopback()
    {
        Directory.CreateDirectory(Path.Combine(Proc, "net"));
        WriteProc("net/dev", NetDev(ethRx: 10_000, ethTx: 5_000, loRx: 1_000_000));
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var collector = new ResourceCollector(_root, Proc, Cgroup, time);

        WriteProc("net/dev", NetDev(ethRx: 30_000, ethTx: 9_000, loRx: 9_000_000)); // loopback traffic is not the network's
        time.Advance(TimeSpan.FromSeconds(2));
        var usage = collector.SampleUsage();
        Assert.Equal((10_000L, 2_000L), (usage.NetworkReceiveBytesPerSecond, usage.NetworkTransmitBytesPerSecond));

        // A counter that goes back (an interface removed) reads as no traffic, never negative.
        WriteProc("net/dev", NetDev(ethRx: 100, ethTx: 100, loRx: 0));
        time.Advance(TimeSpan.FromSeconds(1));
        usage = collector.SampleUsage();
        Assert.Equal((0L, 0L), (usage.NetworkReceiveBytesPerSecond, usage.NetworkTransmitBytesPerSecond));
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage without colons\n")]
    [InlineData("eth0: a b c d e f g h i\n")]
    [InlineData("eth0: 1 2 3\n")]
    [InlineData("lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n")]
    [InlineData("eth0: -5 0 0 0 0 0 0 0 7 0 0 0 0 0 0 0\n")]
    public void Net_dev_that_cannot_be_read_gives_nothing(string text) => Assert.Null(LinuxStats.ParseNetDev(text));

    [Fact]
    public void Usage_WithoutNetDevReportsNoNetwork()
    {
        var usage = new ResourceCollector(_root, Proc, Cgroup).SampleUsage();
        Assert.Equal((0L, 0L), (usage.NetworkReceiveBytesPerSecond, usage.NetworkTransmitBytesPerSecond));
    }

    private void WriteProc(string path, string text) => File.WriteAllText(Path.Combine(Proc, path), text);

    private void WriteCgroup(string path, string text) => File.WriteAllText(Path.Combine(Cgroup, path), text);
}
