using System.Diagnostics.Metrics;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace VirtualCluster.Monitoring.Alerts;

/// <summary>
/// Sends alert changes to every configured receiver: webhooks in Alertmanager's webhook format and Alertmanager
/// servers through their API. Each receiver has its own queue, sent in order; a failed send is tried again with
/// exponential backoff, so a receiver that is down gets what it missed once it is back (up to
/// <see cref="AlertNotifierOptions.MaxQueued"/>, oldest dropped first).
/// </summary>
public sealed partial class AlertNotifier : BackgroundService
{
    /// <summary>Name of the meter.</summary>
    public const string MeterName = "VirtualCluster.Alerts";

    private readonly AlertNotifierOptions _options;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly List<Receiver> _receivers;
    private readonly Counter<long> _sent;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _dropped;

    private sealed record Receiver(string Name, Uri Url, bool Alertmanager, Channel<Alert> Queue);

    /// <param name="http">Client for the sends (tests give one that trusts their receivers); null: a new one.</param>
    public AlertNotifier(IOptions<AlertNotifierOptions> options, TimeProvider time, ILogger<AlertNotifier> logger, IMeterFactory? meters = null, HttpClient? http = null)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
        _http = http ?? new HttpClient();
        _http.Timeout = _options.Timeout;
        _receivers =
        [
            .. _options.Webhooks.Select(u => new Receiver("webhook " + u, new Uri(u), false, NewQueue())),
            .. _options.Alertmanagers.Select(u => new Receiver("alertmanager " + u, new Uri(new Uri(u.TrimEnd('/') + "/"), "api/v2/alerts"), true, NewQueue())),
        ];
        var meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _sent = meter.CreateCounter<long>("vcluster.alerts.notifications.sent", unit: "{notification}", description: "Alert notifications a receiver accepted.");
        _failed = meter.CreateCounter<long>("vcluster.alerts.notifications.failed", unit: "{try}", description: "Sends of alert notifications that failed (each is tried again).");
        _dropped = meter.CreateCounter<long>("vcluster.alerts.notifications.dropped", unit: "{notification}", description: "Notifications dropped because a receiver stayed down while its queue filled.");
    }

    /// <summary>True when at least one receiver is configured.</summary>
    public bool HasReceivers => _receivers.Count > 0;

    /// <summary>Queues an alert change (firing or resolved) for every receiver; never blocks.</summary>
    public void Notify(Alert alert)
    {
        foreach (var receiver in _receivers) receiver.Queue.Writer.TryWrite(alert); // false only once stopped
    }

    /// <summary>Queues a still-firing alert for the Alertmanager servers only: they forget alerts that are not sent again.</summary>
    public void NotifyAlertmanagers(Alert alert)
    {
        foreach (var receiver in _receivers.Where(r => r.Alertmanager)) receiver.Queue.Writer.TryWrite(alert);
    }

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_receivers.Select(r => SendLoopAsync(r, stoppingToken)));

    private Channel<Alert> NewQueue() => Channel.CreateBounded<Alert>(new BoundedChannelOptions(_options.MaxQueued)
    {
        FullMode = BoundedChannelFullMode.DropOldest,
        SingleReader = true,
    }, _ => _dropped.Add(1));

    private async Task SendLoopAsync(Receiver receiver, CancellationToken ct)
    {
        try
        {
            await foreach (var alert in receiver.Queue.Reader.ReadAllAsync(ct))
            {
                var delay = _options.MinRetryDelay;
                for (var attempt = 1; ; attempt++)
                {
                    var problem = await TrySendAsync(receiver, alert, ct);
                    if (problem is null)
                    {
                        _sent.Add(1);
                        if (attempt > 1) Log.Delivered(_logger, alert.Name, alert.Status, receiver.Name, attempt);
                        break;
                    }
                    _failed.Add(1);
                    Log.SendFailed(_logger, alert.Name, alert.Status, receiver.Name, problem, delay.TotalSeconds);
                    await Task.Delay(delay, _time, ct);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task<string?> TrySendAsync(Receiver receiver, Alert alert, CancellationToken ct)
    {
        var body = receiver.Alertmanager ? AlertPayloads.AlertmanagerApi(alert, _options.ExternalUrl) : AlertPayloads.Webhook(alert, "vcluster", _options.ExternalUrl);
        try
        {
            using var response = await _http.PostAsync(receiver.Url, new StringContent(body, Encoding.UTF8, "application/json"), ct);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (HttpRequestException e)
        {
            return e.Message;
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return $"no answer within {_options.Timeout.TotalSeconds:0.#} s";
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        base.Dispose();
        _http.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(8101, LogLevel.Warning, "Could not send alert {Alert} ({Status}) to {Receiver}: {Problem}; trying again in {Delay} s")]
        public static partial void SendFailed(ILogger logger, string alert, string status, string receiver, string problem, double delay);

        [LoggerMessage(8102, LogLevel.Information, "Sent alert {Alert} ({Status}) to {Receiver} at try {Attempt}")]
        public static partial void Delivered(ILogger logger, string alert, string status, string receiver, int attempt);
    }
}
