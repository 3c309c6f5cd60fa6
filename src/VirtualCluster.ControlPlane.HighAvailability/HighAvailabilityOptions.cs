using Microsoft.Extensions.Options;

namespace VirtualCluster.ControlPlane.HighAvailability;

/// <summary>Settings of a highly available control plane.</summary>
public sealed class HighAvailabilityOptions
{
    /// <summary>
    /// This control plane's API URL as the others and the agents reach it, e.g. http://10.0.0.5:7070. Required;
    /// followers forward requests to the leader's URL.
    /// </summary>
    public string AdvertiseUrl { get; set; } = "";

    /// <summary>Name of the leader election every control plane of the cluster campaigns in. Default "control-plane".</summary>
    public string ElectionName { get; set; } = "control-plane";

    /// <summary>
    /// Time to live of the leader's lease: a killed leader is replaced about this long after it died, and a leader
    /// cut off from the store steps down within it. Default 5 s. At least 2 s (etcd's lease granularity is 1 s).
    /// </summary>
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Time an agent must be able to go without an answer while a new leader takes over. When self-fencing is on,
    /// the agents' fencing lease (<see cref="ControlPlaneOptions.FencingLease"/>) is raised to at least
    /// <see cref="LeaseTtl"/> + this, so a leader's death does not make every agent stop its singletons.
    /// Default 3 s (election, start of the new leader's services, and agents finding it).
    /// </summary>
    public TimeSpan TakeoverHeadroom { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>The smallest fencing lease that outlives a leader failover: <see cref="LeaseTtl"/> + <see cref="TakeoverHeadroom"/>.</summary>
    public TimeSpan MinimumFencingLease => LeaseTtl + TakeoverHeadroom;

    /// <summary>Key prefix of the cluster state in the store. Default "cluster/".</summary>
    public string StatePrefix { get; set; } = "cluster/";

    /// <summary>How long a follower waits for the leader's answer to a forwarded request. Default 60 s.</summary>
    public TimeSpan ForwardTimeout { get; set; } = TimeSpan.FromSeconds(60);
}

internal sealed class HighAvailabilityOptionsValidator : IValidateOptions<HighAvailabilityOptions>
{
    public ValidateOptionsResult Validate(string? name, HighAvailabilityOptions o)
    {
        var problems = new List<string>();
        if (!Uri.TryCreate(o.AdvertiseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            problems.Add($"AdvertiseUrl \"{o.AdvertiseUrl}\" is not an http(s) URL: give the URL other control planes and agents reach this one at, e.g. http://10.0.0.5:7070.");
        else if (uri.Host is "0.0.0.0" or "[::]" or "::" or "*" or "+")
            problems.Add($"AdvertiseUrl \"{o.AdvertiseUrl}\" names no host: give an address others can reach (not 0.0.0.0).");
        if (string.IsNullOrWhiteSpace(o.ElectionName) || o.ElectionName.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.')))
            problems.Add("ElectionName must be letters, digits, '-', '_' or '.' (default control-plane).");
        if (o.LeaseTtl < TimeSpan.FromSeconds(2)) problems.Add("LeaseTtl must be at least 00:00:02 (default 00:00:05).");
        if (o.TakeoverHeadroom < TimeSpan.Zero || o.TakeoverHeadroom > TimeSpan.FromMinutes(5))
            problems.Add("TakeoverHeadroom must be between 0 and 5 minutes (default 00:00:03).");
        if (o.StatePrefix is null || o.StatePrefix.Length == 0 || !o.StatePrefix.EndsWith('/')) problems.Add("StatePrefix must end with '/' (default cluster/).");
        if (o.ForwardTimeout <= TimeSpan.Zero) problems.Add("ForwardTimeout must be positive (default 00:01:00).");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
