using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using VirtualCluster.Agent.Monitoring;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;
using VirtualCluster.Scheduling;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// What a new user sees in the first minute (issue 19): `local` as a checklist ending with the commands to type, the
/// fast `vcluster` it prints, and a status that adds up: the nodes share the machine, the cluster row is the sum of
/// the node rows, and nothing is forecast from a few seconds of history.
/// </summary>
public sealed partial class FirstRunTests : IAsyncLifetime
{
    private readonly LocalCluster _cluster = new();

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task Status_in_the_first_seconds_adds_up_to_the_machine_and_forecasts_nothing()
    {
        // Accepted is enough: what is checked is the status in the first seconds, not how fast hello starts on a loaded machine.
        var (code, output) = await CliRunner.RunAsync(_cluster.CliEnv, "deploy", RepoPaths.HelloSpec, "--no-wait");
        Assert.True(code == 0, output);

        var (statusCode, json) = await CliRunner.RunAsync(_cluster.CliEnv, "status", "--output", "json");

        Assert.True(statusCode == 0, json);
        var status = JsonSerializer.Deserialize<ClusterStatus>(json[json.IndexOf('{', StringComparison.Ordinal)..], VirtualClusterJson.Options)!;
        var capacity = status.Capacity ?? throw new Xunit.Sdk.XunitException("status has no capacity report:\n" + json);
        // Seconds after the start there is no history to extrapolate: no run-out time anywhere, and it says so.
        Assert.All(capacity.Cluster.Concat(capacity.Nodes.SelectMany(n => n.Resources)), f =>
        {
            Assert.Null(f.ExhaustedAt);
            Assert.Equal(ForecastTrend.NotEnoughHistory, f.Trend);
            Assert.True(f.MoreHistoryNeeded > TimeSpan.Zero, $"{f.Resource}: {f.MoreHistoryNeeded}");
        });
        // Three agents share this machine: together they offer exactly the machine, as an agent measures it.
        Assert.Equal(3, capacity.Nodes.Count);
        var machine = new ResourceCollector(_cluster.DataDirectory).GetCapacity();
        Assert.Equal(machine.CpuMillicores, Row(capacity.Cluster, "cpu").Capacity);
        Assert.Equal(machine.MemoryBytes, Row(capacity.Cluster, "memory").Capacity);
        Assert.Equal(machine.DiskBytes, Row(capacity.Cluster, "disk").Capacity);
        Assert.Equal(machine, status.Nodes.Aggregate(Resources.Zero, (sum, n) => sum + n.Node.Capacity));
        Assert.All(status.Nodes, n => Assert.Equal("1/3", n.Node.Labels[NodeLabels.MachineShare]));
        // The cluster row is the sum of the node rows, for what is offered, reserved and measured alike.
        foreach (var cluster in capacity.Cluster)
        {
            var rows = capacity.Nodes.Select(n => Row(n.Resources, cluster.Resource)).ToList();
            Assert.Equal(rows.Sum(r => r.Capacity), cluster.Capacity);
            Assert.Equal(rows.Sum(r => r.Allocated), cluster.Allocated);
            Assert.Equal(rows.Sum(r => r.Used), cluster.Used);
        }
        // Allocated is what the hello instances reserve (100m, 64Mi each), whatever was measured: both once the
        // samples include them (a sample is taken every 10 s per node, so wait for one that does).
        using var api = _cluster.Api();
        await Wait.UntilAsync(async () => Row((await api.StatusAsync()).Capacity!.Cluster, "cpu").Allocated == 200,
            TimeSpan.FromSeconds(60), "the capacity report to count both hello instances as allocated");
        var later = (await api.StatusAsync()).Capacity!;
        Assert.Equal(128L << 20, Row(later.Cluster, "memory").Allocated);
        Assert.True(Row(capacity.Cluster, "memory").Used > 0, "the agents measured no memory in use");
    }

    [Fact]
    public async Task Local_reports_a_checklist_and_the_vcluster_it_prints_works()
    {
        var output = _cluster.Output;
        Assert.Matches(@"✓ \[ *[\d.]+ s\] control plane up at https://127\.0\.0\.1:\d+ \(pid \d+\), cluster CA sha256:[0-9a-f]{64}", output);
        for (var i = 1; i <= 3; i++)
            Assert.Matches($@"✓ \[ *[\d.]+ s\] node-{i} joined \(pid \d+\): .* \(1/3 of this machine\)", output);
        Assert.Matches(@"✓ \[ *[\d.]+ s\] drivers found: (docker, )?process", output); // docker too when a daemon answers
        var alias = AliasPattern().Match(output);
        Assert.True(alias.Success, output);
        var next = output[output.IndexOf("Next, in another terminal:", StringComparison.Ordinal)..];
        Assert.Contains("vcluster deploy samples/specs/hello.json", next);
        Assert.Contains("vcluster status", next);

        // The printed command is the built apphost (not `dotnet run`), and it answers.
        var vcluster = alias.Groups[1].Value;
        Assert.EndsWith("/vcluster", vcluster);
        Assert.True(File.Exists(vcluster), vcluster);
        var info = new ProcessStartInfo(vcluster) { WorkingDirectory = RepoPaths.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("status");
        foreach (var (k, v) in _cluster.CliEnv) info.Environment[k] = v;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        Assert.True(process.ExitCode == 0, await stderr);
        Assert.Contains("node-1, node-2, node-3 share one machine", await stdout);
    }

    private static ResourceForecast Row(IReadOnlyList<ResourceForecast> rows, string resource) => rows.Single(r => r.Resource == resource);

    [GeneratedRegex(@"^  alias vcluster=(\S+)$", RegexOptions.Multiline)]
    private static partial Regex AliasPattern();
}
