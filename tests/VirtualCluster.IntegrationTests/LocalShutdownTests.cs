using VirtualCluster.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests;

/// <summary>Ctrl+C on `local` stops the control plane, the agents and every workload: no orphans.</summary>
public sealed class LocalShutdownTests
{
    [Fact]
    public async Task Ctrl_c_stops_every_process_it_started()
    {
        await using var cluster = new LocalClusterHandle();
        await cluster.Cluster.InitializeAsync();
        var (code, output) = await CliRunner.RunAsync(cluster.Cluster.CliEnv, "deploy", RepoPaths.HelloSpec);
        Assert.True(code == 0, output);
        using var api = cluster.Cluster.Api();
        var view = await api.WaitRunningAsync("hello", TimeSpan.FromSeconds(60));
        var pids = cluster.Cluster.ChildPids.Concat(view.Instances.Select(i => i.Instance.Pid!.Value)).ToList();
        Assert.Equal(7, pids.Count); // control plane, gateway, 3 agents, 2 workloads
        Assert.All(pids, p => Assert.True(Native.IsAlive(p)));

        var exit = await cluster.Cluster.StopAsync();

        Assert.Equal(0, exit);
        Assert.Contains("local cluster stopped", cluster.Cluster.Output);
        await Wait.UntilAsync(() => Task.FromResult(pids.All(p => !Native.IsAlive(p))), TimeSpan.FromSeconds(10),
            "every child process to be gone: " + string.Join(",", pids.Where(Native.IsAlive)));
    }

    private sealed class LocalClusterHandle : IAsyncDisposable
    {
        public LocalCluster Cluster { get; } = new();
        public ValueTask DisposeAsync() => new(Cluster.DisposeAsync());
    }
}
