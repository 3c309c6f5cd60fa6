using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// A node is killed (kill -9 of its agent): the NodeDown alert reaches a webhook receiver that was down when it fired
/// (it gets it once it is up: retries), and a real Alertmanager (Debian's prometheus-alertmanager) holds it; the event
/// log and <c>GET /v1/alerts</c> show it. The node comes back: a resolved notification follows and Alertmanager's
/// alert ends. Before the kill, the same receivers got nothing (the positive control is the kill itself).
/// </summary>
public sealed class AlertTests
{
    private const string AlertmanagerPath = "/usr/bin/prometheus-alertmanager";

    [Fact]
    public async Task A_node_down_alert_reaches_a_late_webhook_and_a_real_Alertmanager_and_resolves_when_the_node_returns()
    {
        if (!File.Exists(AlertmanagerPath))
            throw new InvalidOperationException("prometheus-alertmanager is not installed: run scripts/install-deps.sh as root (apt-get install -y --no-install-recommends prometheus-alertmanager)");
        var webhookPort = Wait.FreePort();
        var amPort = Wait.FreePort();
        var amDir = Directory.CreateTempSubdirectory("vc-alertmanager-").FullName;
        await File.WriteAllTextAsync(Path.Combine(amDir, "alertmanager.yml"), """
            route:
              receiver: discard
              group_wait: 1s
            receivers:
              - name: discard
            """);
        using var alertmanager = TestProcess.StartProgram(AlertmanagerPath,
            [$"--config.file={Path.Combine(amDir, "alertmanager.yml")}", $"--storage.path={Path.Combine(amDir, "data")}",
             $"--web.listen-address=127.0.0.1:{amPort}", "--cluster.listen-address="]);
        using var am = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{amPort}/") };
        await using var cluster = await ManualCluster.StartAsync(agents: 1, controlPlaneArgs:
            ["--alert-interval", "0.5", "--alert-webhook", $"http://127.0.0.1:{webhookPort}/hook/", "--alertmanager", $"http://127.0.0.1:{amPort}"]);
        using var api = cluster.Api();
        TestReceiver? receiver = null;
        var received = new ConcurrentQueue<JsonElement>();
        try
        {
            await Wait.UntilAsync(async () => (await api.StatusAsync()).Nodes.Any(n => n.Node.State == NodeState.Alive), TimeSpan.FromSeconds(60), "node-1 alive");
            Assert.Empty((await api.Http.GetFromJsonAsync<AlertsResponse>("v1/alerts", VirtualClusterJson.Options))!.Firing);

            await cluster.KillAgentAsync("node-1");
            await Wait.UntilAsync(async () => (await api.Http.GetFromJsonAsync<AlertsResponse>("v1/alerts", VirtualClusterJson.Options))!
                .Firing.Any(a => a.Name == "NodeDown" && a.Labels["node"] == "node-1"), TimeSpan.FromSeconds(60), "NodeDown firing in GET /v1/alerts");
            var events = await cluster.EventsAsync("kind=alert");
            Assert.Contains(events, e => e.Kind == EventKinds.AlertFiring && e.Node == "node-1" && e.Message.Contains("NodeDown", StringComparison.Ordinal));

            // The real Alertmanager took it (POST /api/v2/alerts) and lists it as active.
            await Wait.UntilAsync(async () => (await AlertmanagerAlertsAsync(am)).Any(a => Name(a) == "NodeDown" && State(a) == "active"),
                TimeSpan.FromSeconds(60), "NodeDown active in Alertmanager");

            // The webhook receiver was down when the alert fired; it starts now and gets the notification from the retries.
            receiver = await TestReceiver.StartAsync(webhookPort);
            received = receiver.Received;
            await Wait.UntilAsync(() => Task.FromResult(received.Any(n => Status(n) == "firing" && AlertName(n) == "NodeDown")),
                TimeSpan.FromSeconds(90), "the firing NodeDown notification at the late webhook");
            var firing = received.First(n => Status(n) == "firing");
            Assert.Equal("4", firing.GetProperty("version").GetString());
            Assert.Equal("node-1", firing.GetProperty("alerts")[0].GetProperty("labels").GetProperty("node").GetString());
            Assert.Equal("critical", firing.GetProperty("commonLabels").GetProperty("severity").GetString());

            cluster.RestartAgent("node-1");
            await Wait.UntilAsync(() => Task.FromResult(received.Any(n => Status(n) == "resolved" && AlertName(n) == "NodeDown")),
                TimeSpan.FromSeconds(90), "the resolved NodeDown notification");
            Assert.Equal(1, received.Count(n => Status(n) == "firing" && AlertName(n) == "NodeDown")); // once, not at every evaluation
            var alerts = (await api.Http.GetFromJsonAsync<AlertsResponse>("v1/alerts", VirtualClusterJson.Options))!;
            Assert.DoesNotContain(alerts.Firing, a => a.Name == "NodeDown");
            Assert.Contains(alerts.Resolved, a => a.Name == "NodeDown" && a.EndsAt is not null);
            Assert.Contains(await cluster.EventsAsync("kind=alert"), e => e.Kind == EventKinds.AlertResolved && e.Node == "node-1");
            await Wait.UntilAsync(async () => !(await AlertmanagerAlertsAsync(am)).Any(a => Name(a) == "NodeDown" && State(a) == "active"),
                TimeSpan.FromSeconds(60), "NodeDown no longer active in Alertmanager");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\nalertmanager output:\n{alertmanager.Output}\ncontrol plane output:\n{cluster.ControlPlane.Output}");
        }
        finally
        {
            if (receiver is not null) await receiver.DisposeAsync();
            try { Directory.Delete(amDir, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task<List<JsonElement>> AlertmanagerAlertsAsync(HttpClient am)
    {
        try
        {
            using var json = JsonDocument.Parse(await am.GetStringAsync("api/v2/alerts"));
            return [.. json.RootElement.EnumerateArray().Select(a => a.Clone())];
        }
        catch (HttpRequestException)
        {
            return []; // not listening yet
        }
    }

    private static string? Name(JsonElement amAlert) => amAlert.GetProperty("labels").TryGetProperty("alertname", out var n) ? n.GetString() : null;
    private static string? State(JsonElement amAlert) => amAlert.GetProperty("status").GetProperty("state").GetString();
    private static string? Status(JsonElement notification) => notification.GetProperty("status").GetString();
    private static string? AlertName(JsonElement notification) => notification.GetProperty("groupLabels").GetProperty("alertname").GetString();
}
