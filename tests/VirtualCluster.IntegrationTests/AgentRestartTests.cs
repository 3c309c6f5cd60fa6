using System.Globalization;
using System.Net.Http.Json;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests;

/// <summary>An agent killed with -9 and started again: its process-driver workloads never notice.</summary>
public sealed class AgentRestartTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task A_killed_agent_leaves_its_workload_running_and_writing_and_the_restarted_agent_adopts_it_with_every_log_line()
    {
        // The killed agent's fence watchdog stops the singleton once its lease (3 s by default) runs out without a
        // renewal; a restart slower than that on a loaded machine would be fenced first. The longest lease takes that
        // race out of a test about adoption (fencing has its own tests).
        await using var cluster = await ManualCluster.StartAsync(agents: 1, controlPlaneArgs: ["--fencing-lease", "600"]);
        try
        {
            await RestartAsync(cluster);
        }
        catch
        {
            output.WriteLine(await cluster.DiagnosticsAsync());
            throw;
        }
    }

    private static async Task RestartAsync(ManualCluster cluster)
    {
        const string spec = """
            { "name": "ticker", "command": "/bin/sh",
              "args": ["-c", "i=0; while :; do i=$((i+1)); echo \"tick $i\"; sleep 0.05; done"],
              "resources": { "cpu": "50m", "memory": "16Mi" } }
            """;
        using var api = cluster.Api();
        using (var response = await api.Http.PostAsync("/v1/services", new StringContent(spec, System.Text.Encoding.UTF8, "application/json")))
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var before = Assert.Single((await api.WaitRunningAsync("ticker", TimeSpan.FromSeconds(60))).Instances).Instance;
        var pid = before.Pid!.Value;
        await Wait.UntilAsync(async () => LastTick(await TicksAsync(api)) >= 3, TimeSpan.FromSeconds(30), "ticks in the logs");

        await cluster.KillAgentAsync("node-1");
        // Nothing reads the workload's output now; it must go on writing (with pipes it got SIGPIPE or EPIPE).
        var stdout = Path.Combine(cluster.Directory, "node-1", "instances", before.Id, "stdout.log");
        var atKill = LastTick(Ticks(ReadShared(stdout)));
        await Wait.UntilAsync(() => Task.FromResult(LastTick(Ticks(ReadShared(stdout))) >= atKill + 20), TimeSpan.FromSeconds(30), "20 ticks with no agent");
        Assert.True(Native.IsAlive(pid), "the workload died with its agent");
        var writtenWhileDown = LastTick(Ticks(ReadShared(stdout)));

        cluster.RestartAgent("node-1");
        await Wait.UntilAsync(async () => LastTick(await TicksAsync(api)) >= writtenWhileDown + 20, TimeSpan.FromSeconds(60), "ticks after the restart");

        var after = Assert.Single((await api.WaitRunningAsync("ticker", TimeSpan.FromSeconds(30))).Instances).Instance;
        Assert.Equal((before.Id, pid, 0), (after.Id, after.Pid!.Value, after.RestartCount));
        // Every tick once and in order, those written while no agent ran included.
        var ticks = await TicksAsync(api);
        Assert.Equal(Enumerable.Range(1, ticks.Count), ticks);
    }

    private static async Task<List<int>> TicksAsync(ApiClient api)
    {
        var logs = await api.Http.GetFromJsonAsync<LogsResponse>("/v1/services/ticker/logs?tail=10000", VirtualClusterJson.Options);
        return Ticks(string.Join('\n', logs!.Lines.Select(l => l.Line.Text)));
    }

    private static List<int> Ticks(string text) =>
        [.. text.Split('\n').Where(l => l.StartsWith("tick ", StringComparison.Ordinal))
            // A line still being written reads as a partial one: skipped.
            .Select(l => int.TryParse(l.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1).Where(n => n >= 0)];

    private static int LastTick(List<int> ticks) => ticks.Count == 0 ? 0 : ticks.Max();

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
