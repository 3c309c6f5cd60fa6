using System.Net;
using System.Net.Http.Json;
using System.Text;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// User alert rules on a real control plane and agent: set from a file at start (<c>--alert-rules</c>) and through the CLI
/// (<c>vcluster alerts rules --set</c>, i.e. <c>PUT /v1/alerts/rules</c>); a rule whose condition is false does not fire,
/// the same rule fires once its condition holds (a deploy) and resolves when it clears (a removal); bad rules are refused
/// with the field named, by the API and by the control plane at start.
/// </summary>
public sealed class AlertRuleTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_user_rule_fires_when_its_condition_holds_and_resolves_when_it_clears()
    {
        var dir = Directory.CreateTempSubdirectory("vc-alert-rules-").FullName;
        try
        {
            var startFile = Path.Combine(dir, "start.json");
            await File.WriteAllTextAsync(startFile, """{"rules": [{"name": "NodeCpuHigh", "scope": "node", "metric": "cpu", "operator": ">", "threshold": 0.9, "for": "10m", "enabled": false}]}""");
            await using var cluster = await ManualCluster.StartAsync(agents: 1, controlPlaneArgs: ["--alert-interval", "0.5", "--alert-rules", startFile]);
            using var api = cluster.Api();

            // The file's rule is in the store after the first evaluation: the built-in of that name is replaced (off).
            await Wait.UntilAsync(async () => (await RulesAsync(api)).Rules.Any(r => r.Source == "user" && r.Rule.Name == "NodeCpuHigh" && !r.Rule.Enabled),
                Deadline, "the --alert-rules file's rule listed");
            var listed = await RulesAsync(api);
            Assert.Contains(listed.Rules, r => r.Source == "built-in" && r.Rule.Name == "ServiceRestarting");
            Assert.DoesNotContain(listed.Rules, r => r.Source == "built-in" && r.Rule.Name == "NodeCpuHigh");

            // The CLI replaces the user rules with one that holds once hello runs.
            var cliFile = Path.Combine(dir, "rules.json");
            await File.WriteAllTextAsync(cliFile, """
                {"rules": [{"name": "HelloUp", "scope": "service", "metric": "running", "operator": ">=", "threshold": 1, "for": "0s",
                            "match": ["hello"], "severity": "info", "summary": "{name} runs {value} instance(s)"}]}
                """);
            var (code, text) = await CliRunner.RunAsync(cluster.CliEnv, "alerts", "rules", "--set", cliFile);
            Assert.True(code == 0, text);
            Assert.Contains("HelloUp", text);
            Assert.Contains("ServiceRestarting", text);

            // Nothing holds yet: after several evaluations on the new rules (their reload included), no HelloUp.
            var evaluatedAfter = DateTime.UtcNow + TimeSpan.FromSeconds(3);
            await Wait.UntilAsync(() => Task.FromResult(DateTime.UtcNow > evaluatedAfter), Deadline, "a few evaluations");
            Assert.DoesNotContain((await AlertsAsync(api)).Firing, a => a.Name == "HelloUp");

            // Positive control: the condition holds, the alert fires with the rule's summary.
            await cluster.DeployHelloAsync("hello", 1);
            await Wait.UntilAsync(async () => (await AlertsAsync(api)).Firing.Any(a => a.Name == "HelloUp" && a.Labels["service"] == "hello"),
                Deadline, "HelloUp firing");
            var firing = (await AlertsAsync(api)).Firing.Single(a => a.Name == "HelloUp");
            Assert.Equal("hello runs 1 instance(s)", firing.Summary);
            Assert.Equal("info", firing.Severity);

            // vcluster top against the same real cluster: the service with its running count and node, the node busiest first.
            (code, text) = await CliRunner.RunAsync(cluster.CliEnv, "top", "services", "--count", "1");
            Assert.True(code == 0 && text.Contains("hello", StringComparison.Ordinal) && text.Contains("1/1", StringComparison.Ordinal), text);
            (code, text) = await CliRunner.RunAsync(cluster.CliEnv, "top", "--count", "1");
            Assert.True(code == 0 && text.Contains("node-1", StringComparison.Ordinal) && text.Contains("nodes 1 alive of 1", StringComparison.Ordinal), text);

            // Per-instance usage: the agent measures the HelloService process, the API and top show it, the history keeps it.
            await Wait.UntilAsync(async () => (await api.Http.GetFromJsonAsync<List<ServiceView>>("v1/services", VirtualClusterJson.Options))!
                .Single(s => s.Spec.Name == "hello").Instances.Any(i => i.Usage is { MemoryBytes: > 1 << 20 }), Deadline, "hello's measured memory in /v1/services");
            (code, text) = await CliRunner.RunAsync(cluster.CliEnv, "top", "services", "--count", "1", "-o", "json");
            Assert.True(code == 0 && text.Contains("\"usage\"", StringComparison.Ordinal) && text.Contains("memoryBytes", StringComparison.Ordinal), text);
            await Wait.UntilAsync(async () => (await api.Http.GetFromJsonAsync<HistoryResponse>("v1/metrics/services/hello/memory_bytes?range=5m&step=10s",
                VirtualClusterJson.Options))!.Points.Any(p => p.Average > 1 << 20), Deadline, "a memory_bytes point in hello's history");

            // The condition clears: it resolves.
            Assert.Equal(HttpStatusCode.NoContent, (await api.Http.DeleteAsync("v1/services/hello")).StatusCode);
            await Wait.UntilAsync(async () => (await AlertsAsync(api)).Resolved.Any(a => a.Name == "HelloUp"), Deadline, "HelloUp resolved");
            Assert.DoesNotContain((await AlertsAsync(api)).Firing, a => a.Name == "HelloUp");
            Assert.Contains(await cluster.EventsAsync("kind=alert"), e => e.Message.StartsWith("HelloUp resolved", StringComparison.Ordinal));

            // Bad rules: 400 naming the field, and the stored rules are unchanged.
            using var bad = await api.Http.PutAsync("v1/alerts/rules", new StringContent(
                """{"rules": [{"name": "X", "scope": "service", "metric": "cpu", "operator": ">", "threshold": 1, "for": "0s"}]}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("rules[0].metric", await bad.Content.ReadAsStringAsync());
            Assert.Contains((await RulesAsync(api)).Rules, r => r.Rule.Name == "HelloUp");

            // Network counters: the agent reports them in its heartbeats, the history keeps them per node.
            var catalog = (await api.Http.GetFromJsonAsync<HistoryCatalog>("v1/metrics", VirtualClusterJson.Options))!;
            Assert.Contains("network_rx", catalog.NodeMetrics);
            Assert.Contains("network_tx", catalog.NodeMetrics);
            Assert.Contains("networkReceiveBytesPerSecond", await api.Http.GetStringAsync("v1/nodes"));
            await Wait.UntilAsync(async () => (await api.Http.GetFromJsonAsync<HistoryResponse>("v1/metrics/nodes/node-1/network_rx?range=5m&step=10s",
                VirtualClusterJson.Options))!.Points.Any(p => p.Average >= 0), Deadline, "a network_rx point in node-1's history");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_control_plane_started_with_a_bad_rule_file_stops_and_names_the_field()
    {
        var dir = Directory.CreateTempSubdirectory("vc-alert-rules-").FullName;
        try
        {
            var file = Path.Combine(dir, "rules.json");
            await File.WriteAllTextAsync(file, """{"rules": [{"name": "A", "scope": "node", "metric": "cpu", "operator": ">", "threshold": 1, "for": "forever"}]}""");
            using var process = TestProcess.StartDotnet(RepoPaths.HostDll,
                ["control-plane", "--data-dir", Path.Combine(dir, "cp"), "--listen", $"https://127.0.0.1:{Wait.FreePort()}", "--alert-rules", file]);
            Assert.Equal(2, await process.WaitForExitAsync(Deadline));
            Assert.Contains("rules[0].for must be a duration", process.Output);
            Assert.False(File.Exists(Path.Combine(dir, "cp", "admin.token")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<AlertRulesResponse> RulesAsync(ApiClient api) =>
        (await api.Http.GetFromJsonAsync<AlertRulesResponse>("v1/alerts/rules", VirtualClusterJson.Options))!;

    private static async Task<AlertsResponse> AlertsAsync(ApiClient api) =>
        (await api.Http.GetFromJsonAsync<AlertsResponse>("v1/alerts", VirtualClusterJson.Options))!;
}
