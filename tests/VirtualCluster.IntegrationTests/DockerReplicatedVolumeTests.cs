using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Docker.DotNet.Models;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;
using VirtualCluster.Testing;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// Replicated volumes with the Docker driver (issue 16): a busybox container appends the journal's numbered records
/// to its bind-mounted volume; its machine dies (kill -9 of the agent, the container killed through the daemon); it
/// comes back in a container on the holder with the newest replica, with every record of the last completed sync and
/// none torn. Real dockerd, real agents.
/// </summary>
public sealed partial class DockerReplicatedVolumeTests(ITestOutputHelper output)
{
    private const string Service = JournalService.Name;

    // The journal's record format, written by the shell: one record and a sync every 20 ms, continuing the count.
    private const string Writer =
        "n=0; [ -f /data/records.log ] && n=$(( $(wc -c < /data/records.log) / 31 )); echo \"records: holds $n record(s)\"; "
        + "while :; do n=$((n+1)); printf 'record %08d check %08d\\n' $n $(( n * 2654435761 % 100000000 )) >> /data/records.log; sync; usleep 20000; done";

    [DockerFact]
    public async Task A_container_comes_back_on_the_freshest_replica_after_its_machine_dies()
    {
        await using var stack = await DockerStack.StartAsync();
        for (var i = 1; i <= 3; i++) await stack.StartAgentAsync($"node-{i}", 26000 + i * 100);
        using var api = stack.Api();
        var spec = JsonSpec();
        using (var response = await api.Http.PostAsync("/v1/services", new StringContent(spec, Encoding.UTF8, "application/json")))
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var original = (await api.WaitRunningAsync(Service, TimeSpan.FromSeconds(90))).Instances.Single();
        var victim = original.NodeName;
        var records = Path.Combine(stack.Directory, victim, "instances", original.Instance.Id, "volumes", "data", "records.log");
        await JournalService.WaitReplicatedAsync(api, original.Instance.Id, TimeSpan.FromSeconds(60));
        await Wait.UntilAsync(() => Task.FromResult(JournalService.Read(records).Count >= 20), TimeSpan.FromSeconds(30), "20 records written");

        var covered = JournalService.Read(records).Count;
        var written = DateTimeOffset.UtcNow;
        await Wait.UntilAsync(async () => (await api.ServiceAsync(Service))!.Instances.Single().Replicas is { Count: 2 } r && r.All(x => x.LastSyncAt > written),
            TimeSpan.FromSeconds(30), $"a sync covering record {covered} on both holders");

        // The machine dies: its agent and its container, with no chance to stop or sync anything.
        await stack.KillAgentAsync(victim);
        foreach (var container in await stack.ContainersAsync(original.Instance.Id))
            await stack.Docker.Containers.KillContainerAsync(container.ID, new ContainerKillParameters { Signal = "SIGKILL" });
        output.WriteLine($"killed {victim} with {covered} records covered by a completed sync; the file had {JournalService.Read(records).Count}");

        InstanceView? replacement = null;
        await Wait.UntilAsync(async () =>
        {
            replacement = (await api.ServiceAsync(Service))!.Instances.SingleOrDefault(i => i.NodeName != victim && i.Instance.State == InstanceState.Running);
            return replacement is not null;
        }, TimeSpan.FromSeconds(120), "the replacement container running on another node");
        var restored = Path.Combine(stack.Directory, replacement!.NodeName, "instances", replacement.Instance.Id, "volumes", "data", "records.log");
        await Wait.UntilAsync(() => Task.FromResult(JournalService.Read(restored).Count > covered + 10), TimeSpan.FromSeconds(30), "the replacement appending");
        var (count, clean) = JournalService.Read(restored);
        Assert.True(clean, $"{restored}: a torn or damaged record after {count} good ones");
        var started = await JournalService.StartedFromAsync(api, replacement.Instance.Id);
        output.WriteLine($"{replacement.Instance.Id} on {replacement.NodeName} started from {started} records ({covered} covered before the kill)");
        Assert.True(started >= covered, $"started from {started} records, fewer than the {covered} a completed sync covered");
        Assert.Single(await stack.ContainersAsync(replacement.Instance.Id));
        var events = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<List<ClusterEvent>>(api.Http, $"/v1/events?service={Service}&limit=500", VirtualClusterJson.Options);
        Assert.Contains(events!, e => e.Kind == EventKinds.VolumeRestored && e.Instance == replacement.Instance.Id);
    }

    private static string JsonSpec() => $$"""
        { "name": "{{Service}}", "driver": "docker", "image": "vc/busybox:test", "command": "/bin/sh",
          "args": ["-c", {{System.Text.Json.JsonSerializer.Serialize(Writer)}}],
          "resources": { "cpu": "100m", "memory": "32Mi" },
          "volumes": [{ "name": "data", "mountPath": "/data", "replicas": 2, "sync": "500ms" }] }
        """;


}
