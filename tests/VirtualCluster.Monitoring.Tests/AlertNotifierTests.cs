using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VirtualCluster.Monitoring.Alerts;

namespace VirtualCluster.Monitoring.Tests;

/// <summary>
/// The notifier against real HTTP receivers on loopback (Kestrel): the Alertmanager webhook format, the Alertmanager API body,
/// retries until a receiver that was down answers, and options refused with the fix.
/// </summary>
public sealed class AlertNotifierTests
{
    private static Alert NodeDown(DateTimeOffset? ends = null) => new(
        new Dictionary<string, string> { ["alertname"] = "NodeDown", ["severity"] = "critical", ["node"] = "node-1" },
        new Dictionary<string, string> { ["summary"] = "Node node-1 is down", ["description"] = "No heartbeat." },
        new DateTimeOffset(2026, 12, 7, 10, 0, 0, TimeSpan.Zero), ends);

    private static AlertNotifier Notifier(AlertNotifierOptions options) =>
        new(Options.Create(options), TimeProvider.System, NullLogger<AlertNotifier>.Instance);

    [Fact]
    public async Task Webhooks_get_the_Alertmanager_format_and_a_receiver_that_was_down_gets_it_once_it_answers()
    {
        var port = FreePort();
        using var notifier = Notifier(new AlertNotifierOptions { Webhooks = [$"http://127.0.0.1:{port}/hook/"], MinRetryDelay = TimeSpan.FromMilliseconds(50), MaxRetryDelay = TimeSpan.FromMilliseconds(200) });
        await notifier.StartAsync(CancellationToken.None);
        notifier.Notify(NodeDown());
        notifier.Notify(NodeDown(new DateTimeOffset(2026, 12, 7, 10, 5, 0, TimeSpan.Zero)));

        // Nobody listens yet: the sends fail and are tried again. Now the receiver starts.
        await using var receiver = await TestReceiver.StartAsync(port);
        var received = receiver.Received;
        await Until(() => received.Count >= 2, "both notifications at the late receiver");
        await notifier.StopAsync(CancellationToken.None);

        var all = received.ToArray();
        Assert.Equal(["firing", "resolved"], all.Select(n => n.GetProperty("status").GetString())); // in order
        var firing = all[0];
        Assert.Equal("4", firing.GetProperty("version").GetString());
        Assert.Equal("NodeDown", firing.GetProperty("groupLabels").GetProperty("alertname").GetString());
        var alert = firing.GetProperty("alerts")[0];
        Assert.Equal("node-1", alert.GetProperty("labels").GetProperty("node").GetString());
        Assert.Equal("Node node-1 is down", alert.GetProperty("annotations").GetProperty("summary").GetString());
        Assert.Equal("2026-12-07T10:00:00.000Z", alert.GetProperty("startsAt").GetString());
        Assert.Equal("0001-01-01T00:00:00Z", alert.GetProperty("endsAt").GetString());
        Assert.Equal("2026-12-07T10:05:00.000Z", all[1].GetProperty("alerts")[0].GetProperty("endsAt").GetString());
        Assert.Equal(NodeDown().Fingerprint, alert.GetProperty("fingerprint").GetString());
    }

    [Fact]
    public async Task Alertmanagers_get_the_api_v2_alerts_body_and_an_error_answer_is_tried_again()
    {
        var port = FreePort();
        await using var failing = await TestReceiver.StartAsync(port, HttpStatusCode.ServiceUnavailable, failFirst: 2);
        var received = failing.Received;
        using var notifier = Notifier(new AlertNotifierOptions { Alertmanagers = [$"http://127.0.0.1:{port}"], MinRetryDelay = TimeSpan.FromMilliseconds(50) });
        await notifier.StartAsync(CancellationToken.None);
        notifier.NotifyAlertmanagers(NodeDown());

        await Until(() => received.Count >= 3, "the third try, after two 503s");
        await notifier.StopAsync(CancellationToken.None);
        var body = received.Last();
        Assert.Equal(JsonValueKind.Array, body.ValueKind);
        Assert.Equal("NodeDown", body[0].GetProperty("labels").GetProperty("alertname").GetString());
        Assert.False(body[0].TryGetProperty("endsAt", out _)); // firing: no end
    }

    [Fact]
    public void Options_are_validated_with_the_field_and_the_fix()
    {
        var result = new AlertNotifierOptionsValidator().Validate(null, new AlertNotifierOptions { Webhooks = ["ftp://x"], MaxQueued = 0, MinRetryDelay = TimeSpan.Zero });
        Assert.True(result.Failed);
        Assert.Contains("Webhooks has \"ftp://x\"", result.FailureMessage);
        Assert.Contains("MaxQueued is 0", result.FailureMessage);
        Assert.Contains("MinRetryDelay", result.FailureMessage);
        Assert.True(new AlertNotifierOptionsValidator().Validate(null, new AlertNotifierOptions()).Succeeded);
    }

    private static int FreePort()
    {
        using var socket = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited 30 s for {what}");
            await Task.Delay(20);
        }
    }
}
