using Microsoft.Extensions.Options;

namespace VirtualCluster.Monitoring.Alerts;

/// <summary>Where alerts are sent, and how hard the sender tries.</summary>
public sealed class AlertNotifierOptions
{
    /// <summary>Receivers of the Alertmanager webhook format (<c>POST</c>, version 4): one notification per alert change.</summary>
    public List<string> Webhooks { get; set; } = [];

    /// <summary>Alertmanager servers (base URLs): alerts are posted to <c>/api/v2/alerts</c>, as Prometheus does.</summary>
    public List<string> Alertmanagers { get; set; } = [];

    /// <summary>The URL put in notifications as where the alerts come from (e.g. the control plane's); optional.</summary>
    public string? ExternalUrl { get; set; }

    /// <summary>First wait before sending again after a failure; doubled each time up to <see cref="MaxRetryDelay"/>. Default 1 s.</summary>
    public TimeSpan MinRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between two tries; default 60 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Notifications kept per receiver while it is down; the oldest go first past it. Default 1,000.</summary>
    public int MaxQueued { get; set; } = 1000;

    /// <summary>Time allowed for one send; default 10 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Checks <see cref="AlertNotifierOptions"/> at start and names every problem with its fix.</summary>
public sealed class AlertNotifierOptionsValidator : IValidateOptions<AlertNotifierOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, AlertNotifierOptions options)
    {
        var errors = new List<string>();
        foreach (var (field, urls) in new[] { ("Webhooks", options.Webhooks), ("Alertmanagers", options.Alertmanagers) })
        {
            foreach (var url in urls ?? [])
            {
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                    errors.Add($"AlertNotifierOptions.{field} has \"{url}\", which is not an http or https URL; e.g. http://127.0.0.1:9093");
            }
        }
        if (options.MinRetryDelay < TimeSpan.FromMilliseconds(10) || options.MaxRetryDelay < options.MinRetryDelay || options.MaxRetryDelay > TimeSpan.FromHours(1))
            errors.Add("AlertNotifierOptions.MinRetryDelay must be at least 10 ms and MaxRetryDelay from it to an hour, e.g. 00:00:01 and 00:01:00.");
        if (options.MaxQueued is < 1 or > 1_000_000)
            errors.Add($"AlertNotifierOptions.MaxQueued is {options.MaxQueued}; it must be from 1 to 1,000,000, e.g. 1000.");
        if (options.Timeout < TimeSpan.FromMilliseconds(100) || options.Timeout > TimeSpan.FromMinutes(5))
            errors.Add("AlertNotifierOptions.Timeout must be from 100 ms to 5 minutes, e.g. 00:00:10.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
