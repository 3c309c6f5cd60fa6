using System.Text.Json.Nodes;
using VirtualCluster.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests;

/// <summary>Explain and rebalance end to end: the `local` command, the real CLI, real HelloService processes.</summary>
public sealed class SchedulingTests(LocalCluster cluster) : IClassFixture<LocalCluster>
{
    private static readonly HttpClient Curl = new() { Timeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task Packed_replicas_are_explained_and_rebalanced_onto_the_other_nodes_while_the_service_keeps_answering()
    {
        // hello, three replicas, free to share a node: bin packing puts all of them on one node.
        var spec = JsonNode.Parse(await File.ReadAllTextAsync(RepoPaths.HelloSpec))!.AsObject();
        spec["name"] = "packed";
        spec["replicas"] = 3;
        spec["placement"] = new JsonObject { ["antiAffinity"] = "none" };
        var path = Path.Combine(cluster.DataDirectory, "packed.json");
        await File.WriteAllTextAsync(path, spec.ToJsonString());

        var (code, output) = await CliRunner.RunAsync(cluster.CliEnv, "deploy", path);
        Assert.True(code == 0, output);
        using var api = cluster.Api();
        var before = (await api.ServiceAsync("packed"))!;
        Assert.Single(before.Instances.Select(i => i.NodeName).Distinct());
        Assert.All(before.Instances, i => Assert.Contains("most-allocated", i.Score!.Scorers.Keys));

        (code, output) = await CliRunner.RunAsync(cluster.CliEnv, "explain", "packed");
        Assert.True(code == 0, output);
        Assert.Contains("strategy binpack", output);
        Assert.Contains("It would go to", output);
        foreach (var instance in before.Instances) Assert.Contains(instance.Instance.Id, output);

        (code, output) = await CliRunner.RunAsync(cluster.CliEnv, "rebalance", "--dry-run");
        Assert.True(code == 0, output);
        Assert.Contains("dry run: nothing was moved", output);
        Assert.Equal(3, (await api.ServiceAsync("packed"))!.Instances.Count);

        (code, output) = await CliRunner.RunAsync(cluster.CliEnv, "rebalance");
        Assert.True(code == 0, output);
        Assert.Contains("started 2 move(s)", output);

        // Each move: the new instance starts elsewhere, then the old one is stopped.
        await Wait.UntilAsync(async () =>
        {
            var view = (await api.ServiceAsync("packed"))!;
            var live = view.Instances.Where(i => i.Instance.State == InstanceState.Running).ToList();
            return live.Count == 3 && live.Select(i => i.NodeName).Distinct().Count() == 3
                && view.Instances.Count(i => i.Instance.State == InstanceState.Stopped) == 2;
        }, TimeSpan.FromSeconds(60), "three running replicas on three nodes and two stopped ones");

        var after = (await api.ServiceAsync("packed"))!;
        foreach (var instance in after.Instances.Where(i => i.Instance.State == InstanceState.Running))
            Assert.Contains($"hello from {instance.Instance.Id}", await Curl.GetStringAsync(Assert.Single(instance.Urls)));

        (code, output) = await CliRunner.RunAsync(cluster.CliEnv, "status");
        Assert.True(code == 0, output);
        Assert.Contains("Capacity", output);
        Assert.Contains("More instances that fit now: packed +", output);
        (code, output) = await CliRunner.RunAsync(cluster.CliEnv, "rm", "packed");
        Assert.True(code == 0, output);
    }
}
