using Microsoft.Extensions.Options;

namespace VirtualCluster.Membership.Consul;

/// <summary>Settings of the Consul provider.</summary>
public sealed class ConsulMembershipOptions
{
    /// <summary>URL of the local Consul agent's HTTP API. Default http://127.0.0.1:8500 (CONSUL_HTTP_ADDR is the usual place for it).</summary>
    public string Address { get; set; } = "http://127.0.0.1:8500";

    /// <summary>ACL token sent as X-Consul-Token, or null for none.</summary>
    public string? Token { get; set; }

    /// <summary>Prefix of every KV key this provider uses; must not start with '/'. Default "vcluster/".</summary>
    public string KeyPrefix { get; set; } = "vcluster/";

    /// <summary>Consul service name every member registers under. Default "vcluster".</summary>
    public string ServiceName { get; set; } = "vcluster";

    /// <summary>
    /// Shorter session (lease) TTLs are raised to this. Consul accepts 10 s to 24 h; default 10 s. Lower it only
    /// for a stand-in server in tests.
    /// </summary>
    public TimeSpan MinimumSessionTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Lock delay of sessions: after a session ends, its locks cannot be taken for this long. Default 1 s
    /// (Consul's own default is 15 s, which would slow every leader change down by as much).
    /// </summary>
    public TimeSpan SessionLockDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A member whose TTL check stayed critical this long is deregistered by Consul. Default 1 min (Consul's minimum).</summary>
    public TimeSpan DeregisterCriticalServiceAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a blocking query waits at most (Consul's "wait"). Default 10 s. Between 1 s and 10 min.</summary>
    public TimeSpan BlockingWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Timeout of non-blocking requests. Default 5 s. Must be positive.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Change-journal entries kept for watches (Consul keeps no history of its own; a watch reads the whole journal
    /// when it wakes, so keep it modest). Default 1000. At least 10.
    /// </summary>
    public int JournalEntries { get; set; } = 1000;
}

internal sealed class ConsulMembershipOptionsValidator : IValidateOptions<ConsulMembershipOptions>
{
    public ValidateOptionsResult Validate(string? name, ConsulMembershipOptions options)
    {
        var problems = Problems(options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    public static List<string> Problems(ConsulMembershipOptions o)
    {
        var problems = new List<string>();
        if (!Uri.TryCreate(o.Address, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            problems.Add($"Address \"{o.Address}\" is not an http(s) URL; use the Consul agent's address, e.g. http://127.0.0.1:8500.");
        if (string.IsNullOrEmpty(o.KeyPrefix) || o.KeyPrefix.StartsWith('/') || !o.KeyPrefix.EndsWith('/'))
            problems.Add($"KeyPrefix \"{o.KeyPrefix}\" must be non-empty, must not start with '/' and must end with '/', e.g. vcluster/.");
        if (string.IsNullOrWhiteSpace(o.ServiceName) || o.ServiceName.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '-'))
            problems.Add($"ServiceName \"{o.ServiceName}\" must be letters, digits and '-', e.g. vcluster.");
        if (o.MinimumSessionTtl <= TimeSpan.Zero) problems.Add("MinimumSessionTtl must be positive (Consul needs at least 00:00:10).");
        if (o.SessionLockDelay < TimeSpan.Zero) problems.Add("SessionLockDelay must not be negative.");
        if (o.DeregisterCriticalServiceAfter <= TimeSpan.Zero) problems.Add("DeregisterCriticalServiceAfter must be positive (Consul's minimum is 00:01:00).");
        if (o.BlockingWait < TimeSpan.FromSeconds(1) || o.BlockingWait > TimeSpan.FromMinutes(10))
            problems.Add("BlockingWait must be between 00:00:01 and 00:10:00.");
        if (o.RequestTimeout <= TimeSpan.Zero) problems.Add("RequestTimeout must be positive.");
        if (o.JournalEntries < 10) problems.Add("JournalEntries must be at least 10.");
        return problems;
    }
}
