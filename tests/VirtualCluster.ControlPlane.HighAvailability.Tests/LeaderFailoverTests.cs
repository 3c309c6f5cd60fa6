using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.ControlPlane.HighAvailability.Tests;

/// <summary>
/// Three control planes on a real etcd, agents and the CLI as real processes. The leader is killed with SIGKILL
/// during a deployment and during an agent's failover; a new leader takes over, no service is lost, running
/// instances keep running untouched, and the dead agent's instances still move.
/// </summary>
public sealed class LeaderFailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(150);
    private static readonly HttpClient Curl = new() { Timeout = TimeSpan.FromSeconds(5) };
    private HaCluster? _cluster;

    public Task InitializeAsync() => Task.CompletedTask;

    private static List<(string Id, int? Pid, long Epoch, string Node)> Instances(ServiceView view) =>
        view.Instances.Select(i => (i.Instance.Id, i.Instance.Pid, i.Instance.Epoch, i.Instance.NodeId)).OrderBy(i => i.Id).ToList();

    private async Task<string> WriteSpecAsync(string name, int replicas = 2)
    {
        var spec = (await File.ReadAllTextAsync(RepoPaths.HelloSpec)).Replace("\"hello\"", $"\"{name}\"", StringComparison.Ordinal)
            .Replace("\"replicas\": 2", $"\"replicas\": {replicas}", StringComparison.Ordinal);
        var path = Path.Combine(_cluster!.Directory, name + ".json");
        await File.WriteAllTextAsync(path, spec);
        return path;
    }

    [Fact]
    public async Task Killing_the_leader_during_a_deployment_loses_no_service_and_restarts_no_instance()
    {
        // The singleton's agent stops it when its fencing lease (3 s by default) runs out before a new leader renews it.
        // On a loaded machine the failover itself can take longer (it failed CI at load 20), so the lease here is long
        // enough that only a failover that never ends could stop it: the race with the failover is taken out of the test.
        _cluster = await HaCluster.StartAsync(agents: 3, controlPlaneArgs: ["--fencing-lease", "60"]);
        try
        {
            var leader = await _cluster.WaitForLeaderAsync(null, Deadline);
            var follower = _cluster.LiveControlPlanes.First(u => u != leader.Self);
            using var api = _cluster.Api(follower);

            // A service deployed through a follower (forwarded to the leader).
            var (code, text) = await CliRunner.RunAsync(_cluster.CliEnv(follower), "deploy", RepoPaths.HelloSpec);
            Assert.True(code == 0, text);
            var before = await api.WaitRunningAsync("hello", Deadline);
            _cluster.TrackWorkloads(before.Instances.Select(i => i.Instance.Pid!.Value));
            // A singleton: its agent's fencing lease must outlive the leader's failover, or the agent would stop it.
            (code, text) = await CliRunner.RunAsync(_cluster.CliEnv(follower), "deploy", await WriteSpecAsync("solo", replicas: 1));
            Assert.True(code == 0, text);
            var solo = await api.WaitRunningAsync("solo", Deadline);
            _cluster.TrackWorkloads(solo.Instances.Select(i => i.Instance.Pid!.Value));

            // A second deployment is under way when the leader dies.
            var spec = await WriteSpecAsync("second");
            var deploying = CliRunner.RunAsync(_cluster.CliEnv(follower), "deploy", spec);
            await Wait.UntilAsync(async () => await api.ServiceAsync("second") is not null || deploying.IsCompleted, Deadline, "the second deployment to start");
            await _cluster.KillControlPlaneAsync(leader.Self);
            var killedAt = DateTime.UtcNow;
            var (firstCode, firstOutput) = await deploying;
            output.WriteLine($"deploy during the leader's death exited {firstCode}:\n{firstOutput}");

            var newLeader = await _cluster.WaitForLeaderAsync(leader, Deadline);
            output.WriteLine($"new leader {newLeader.Leader} (token {newLeader.Token} > {leader.Token}) after {(DateTime.UtcNow - killedAt).TotalSeconds:0.0} s");
            Assert.True(newLeader.Token > leader.Token);

            // Deploying the same spec again is idempotent: it finishes whatever the dead leader had stored. The CLI is
            // given every control plane with the dead one first, as a user's config would list them.
            var all = string.Join(',', _cluster.ControlPlanes.Keys.OrderBy(u => u == leader.Self ? 0 : 1));
            (code, text) = await CliRunner.RunAsync(_cluster.CliEnv(all), "deploy", spec);
            Assert.True(code == 0, text);
            Assert.Contains($"control plane {leader.Self} unreachable, trying", text);
            var second = await api.WaitRunningAsync("second", Deadline);
            _cluster.TrackWorkloads(second.Instances.Select(i => i.Instance.Pid!.Value));
            Assert.Equal(2, second.Instances.Count);

            // Agents keep reporting to the new leader for a while; the first service was never touched.
            var since = DateTimeOffset.UtcNow;
            await Wait.UntilAsync(async () => (await api.StatusAsync()).Nodes.All(n => n.Node.State == NodeState.Alive && n.Node.LastHeartbeat > since.AddSeconds(3)),
                Deadline, "agents reporting to the new leader for 3 s");
            var after = await api.WaitRunningAsync("hello", Deadline);
            Assert.Equal(Instances(before), Instances(after));
            Assert.All(after.Instances, i => Assert.Equal(0, i.Instance.RestartCount));
            foreach (var instance in after.Instances) Assert.Contains("hello from", await Curl.GetStringAsync(instance.Urls[0]));
            Assert.Equal(Instances(solo), Instances(await api.WaitRunningAsync("solo", Deadline)));
            var services = (await api.StatusAsync()).Services.Select(s => s.Spec.Name).Order().ToList();
            Assert.Equal(["hello", "second", "solo"], services);
            // Epochs keep increasing across leaders.
            Assert.True(second.Instances.Min(i => i.Instance.Epoch) > before.Instances.Max(i => i.Instance.Epoch));
        }
        catch
        {
            output.WriteLine(_cluster.Logs());
            throw;
        }
    }

    [Fact]
    public async Task Killing_the_leader_during_an_agent_failover_still_moves_the_dead_agents_instances()
    {
        _cluster = await HaCluster.StartAsync(agents: 3);
        try
        {
            var leader = await _cluster.WaitForLeaderAsync(null, Deadline);
            var follower = _cluster.LiveControlPlanes.First(u => u != leader.Self);
            using var api = _cluster.Api(follower);
            var (code, text) = await CliRunner.RunAsync(_cluster.CliEnv(follower), "deploy", RepoPaths.HelloSpec);
            Assert.True(code == 0, text);
            var before = await api.WaitRunningAsync("hello", Deadline);
            _cluster.TrackWorkloads(before.Instances.Select(i => i.Instance.Pid!.Value));

            // A machine running an instance dies; a moment later, before it is declared down, so does the leader.
            var nodes = (await api.StatusAsync()).Nodes.ToDictionary(n => n.Node.Id, n => n.Node.Name);
            var victimId = before.Instances[0].Instance.NodeId;
            var victim = nodes[victimId];
            var survivors = before.Instances.Where(i => i.Instance.NodeId != victimId).Select(i => (i.Instance.Id, i.Instance.Pid, i.Instance.Epoch)).ToList();
            await _cluster.KillMachineAsync(victim, before.Instances.Where(i => i.Instance.NodeId == victimId).Select(i => i.Instance.Pid!.Value));
            await Task.Delay(TimeSpan.FromSeconds(1));
            await _cluster.KillControlPlaneAsync(leader.Self);

            var newLeader = await _cluster.WaitForLeaderAsync(leader, Deadline);
            output.WriteLine($"new leader {newLeader.Leader} (token {newLeader.Token})");
            using var newApi = _cluster.Api(newLeader.Self);
            ServiceView? moved = null;
            await Wait.UntilAsync(async () =>
            {
                moved = await newApi.ServiceAsync("hello");
                return moved is not null && moved.Running == 2 && moved.Instances.Count == 2 && moved.Instances.All(i => i.Instance.NodeId != victimId);
            }, Deadline, $"hello to run twice without {victim}");
            _cluster.TrackWorkloads(moved!.Instances.Select(i => i.Instance.Pid!.Value));

            var status = await newApi.StatusAsync();
            Assert.Equal(NodeState.Down, status.Nodes.Single(n => n.Node.Id == victimId).Node.State);
            foreach (var instance in moved.Instances) Assert.Contains("hello from", await Curl.GetStringAsync(instance.Urls[0]));
            // Instances on machines that stayed up were not restarted or replaced.
            foreach (var survivor in survivors)
                Assert.Contains(moved.Instances, i => i.Instance.Id == survivor.Id && i.Instance.Pid == survivor.Pid && i.Instance.Epoch == survivor.Epoch);
        }
        catch
        {
            output.WriteLine(_cluster.Logs());
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }
}
