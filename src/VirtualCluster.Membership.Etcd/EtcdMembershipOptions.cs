using Microsoft.Extensions.Options;

namespace VirtualCluster.Membership.Etcd;

/// <summary>Settings of the etcd provider.</summary>
public sealed class EtcdMembershipOptions
{
    /// <summary>
    /// Client URLs of the etcd members, e.g. http://127.0.0.1:2379. Required. Calls go to one member and move to
    /// the next when it cannot be reached.
    /// </summary>
    public List<string> Endpoints { get; set; } = [];

    /// <summary>
    /// Prefix of every key this provider reads or writes, so several clusters (or tests) can share one etcd.
    /// Default "/vcluster/". Must not be empty.
    /// </summary>
    public string KeyPrefix { get; set; } = "/vcluster/";

    /// <summary>Deadline of each unary call (reads, writes, leases). Default 5 s. Must be positive.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Pause before a broken watch stream is opened again. Default 250 ms. Must be positive.</summary>
    public TimeSpan WatchRetryDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Parses a comma-separated list of endpoints ("http://a:2379,http://b:2379") into <see cref="Endpoints"/>.</summary>
    public static List<string> ParseEndpoints(string value) =>
        (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
}

internal sealed class EtcdMembershipOptionsValidator : IValidateOptions<EtcdMembershipOptions>
{
    public ValidateOptionsResult Validate(string? name, EtcdMembershipOptions options)
    {
        var problems = Problems(options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    public static List<string> Problems(EtcdMembershipOptions o)
    {
        var problems = new List<string>();
        if (o.Endpoints is null || o.Endpoints.Count == 0)
            problems.Add("Endpoints is empty: list the etcd client URLs, e.g. http://127.0.0.1:2379.");
        else
        {
            foreach (var endpoint in o.Endpoints)
            {
                if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
                    problems.Add($"Endpoints: \"{endpoint}\" is not an http(s) URL like http://127.0.0.1:2379.");
            }
        }
        if (string.IsNullOrEmpty(o.KeyPrefix)) problems.Add("KeyPrefix is empty: use a prefix such as /vcluster/.");
        if (o.OperationTimeout <= TimeSpan.Zero) problems.Add("OperationTimeout must be positive (default 00:00:05).");
        if (o.WatchRetryDelay <= TimeSpan.Zero) problems.Add("WatchRetryDelay must be positive (default 00:00:00.25).");
        return problems;
    }
}
