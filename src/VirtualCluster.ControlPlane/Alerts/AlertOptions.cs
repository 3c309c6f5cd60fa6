using Microsoft.Extensions.Options;

namespace VirtualCluster.ControlPlane.Alerts;

/// <summary>The built-in alert rules: how often they are checked, and how long a condition must hold before it fires.</summary>
public sealed class AlertOptions
{
    /// <summary>Whether the rules are evaluated at all; default true (with no receiver, alerts still go to the event log and <c>GET /v1/alerts</c>).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Time between two evaluations; default 5 s, from 100 ms to 5 minutes.</summary>
    public TimeSpan EvaluationInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a node must stay suspect (late heartbeats) before <c>NodeSuspect</c> fires; default 30 s.</summary>
    public TimeSpan SuspectFor { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a service may run fewer instances than it asks for before <c>ServiceDegraded</c> fires; default 60 s.</summary>
    public TimeSpan DegradedFor { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Threshold rules to write to the cluster store at start, replacing the user rules there (the console host's
    /// <c>--alert-rules FILE</c>); null leaves the stored ones. Read them with <see cref="AlertRuleReader"/>.
    /// </summary>
    public IReadOnlyList<VirtualCluster.Api.AlertRuleSpec>? Rules { get; set; }

    /// <summary>How often firing alerts are sent to Alertmanager servers again (it forgets alerts not re-sent); default 60 s.</summary>
    public TimeSpan ResendInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// <c>CapacityRunningOut</c> fires when the cluster's forecast says a resource runs out within this long; default
    /// 7 days, from an hour to 365 days.
    /// </summary>
    public TimeSpan CapacityHorizon { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// <c>CertificateExpiring</c> fires when the cluster CA or this control plane's server certificate expires within
    /// this long (critical within a quarter of it); default 30 days, from an hour to 365 days.
    /// </summary>
    public TimeSpan CertificateExpiryWarning { get; set; } = TimeSpan.FromDays(30);
}

/// <summary>Checks <see cref="AlertOptions"/> at start and names every problem with its fix.</summary>
internal sealed class AlertOptionsValidator : IValidateOptions<AlertOptions>
{
    public ValidateOptionsResult Validate(string? name, AlertOptions options)
    {
        var errors = new List<string>();
        if (options.EvaluationInterval < TimeSpan.FromMilliseconds(100) || options.EvaluationInterval > TimeSpan.FromMinutes(5))
            errors.Add($"AlertOptions.EvaluationInterval is {options.EvaluationInterval}; it must be from 100 ms to 5 minutes, e.g. 00:00:05.");
        foreach (var (field, value) in new[] { ("SuspectFor", options.SuspectFor), ("DegradedFor", options.DegradedFor) })
        {
            if (value < TimeSpan.Zero || value > TimeSpan.FromDays(1))
                errors.Add($"AlertOptions.{field} is {value}; it must be from 0 to a day, e.g. 00:01:00.");
        }
        foreach (var (field, value) in new[] { ("CapacityHorizon", options.CapacityHorizon), ("CertificateExpiryWarning", options.CertificateExpiryWarning) })
        {
            if (value < TimeSpan.FromHours(1) || value > TimeSpan.FromDays(365))
                errors.Add($"AlertOptions.{field} is {value}; it must be from an hour to 365 days, e.g. 7.00:00:00 for a week.");
        }
        if (options.ResendInterval < TimeSpan.FromSeconds(1) || options.ResendInterval > TimeSpan.FromHours(1))
            errors.Add($"AlertOptions.ResendInterval is {options.ResendInterval}; it must be from 1 s to an hour, e.g. 00:01:00.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
