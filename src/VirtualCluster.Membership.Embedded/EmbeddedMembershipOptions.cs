using Microsoft.Extensions.Options;

namespace VirtualCluster.Membership.Embedded;

/// <summary>Settings of the embedded provider (<see cref="SqliteKeyValueStore"/>).</summary>
public sealed class EmbeddedMembershipOptions
{
    /// <summary>Path of the SQLite file; its directories are created. Required.</summary>
    public string Path { get; set; } = "";

    /// <summary>Revisions of history kept for watches; older ones are trimmed. Default 10000. At least 1.</summary>
    public int HistoryRevisions { get; set; } = 10_000;

    /// <summary>
    /// Key prefixes whose changes are not kept in the watch history: values rewritten often that nobody watches. Keeping
    /// each old version of them for <see cref="HistoryRevisions"/> revisions made the file grow by hundreds of MiB (the
    /// metrics history rewrites a block of tens of KiB per series every 30 s). A watch gets no events for these keys;
    /// reads see them as usual. Default: "metrics-history/".
    /// </summary>
    public List<string> UnwatchedPrefixes { get; set; } = ["metrics-history/"];

    /// <summary>Shorter lease TTLs are raised to this. Default 100 ms. Must be positive.</summary>
    public TimeSpan MinimumLeaseTtl { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often expired leases are looked for. Default 100 ms. Must be positive.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often a watch looks for changes when no commit woke it. Default 1 s. Must be positive.</summary>
    public TimeSpan WatchPollInterval { get; set; } = TimeSpan.FromSeconds(1);
}

internal sealed class EmbeddedMembershipOptionsValidator : IValidateOptions<EmbeddedMembershipOptions>
{
    public ValidateOptionsResult Validate(string? name, EmbeddedMembershipOptions options)
    {
        var problems = Problems(options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    public static List<string> Problems(EmbeddedMembershipOptions o)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(o.Path))
            problems.Add("Path is empty: set it to a file for the embedded store, e.g. /var/lib/vcluster/membership.db.");
        if (o.HistoryRevisions < 1) problems.Add("HistoryRevisions must be at least 1 (default 10000).");
        if (o.UnwatchedPrefixes is null || o.UnwatchedPrefixes.Any(string.IsNullOrEmpty))
            problems.Add("UnwatchedPrefixes must be a list of non-empty key prefixes (an empty prefix would hide every change from watches).");
        if (o.MinimumLeaseTtl <= TimeSpan.Zero) problems.Add("MinimumLeaseTtl must be positive (default 00:00:00.1).");
        if (o.SweepInterval <= TimeSpan.Zero) problems.Add("SweepInterval must be positive (default 00:00:00.1).");
        if (o.WatchPollInterval <= TimeSpan.Zero) problems.Add("WatchPollInterval must be positive (default 00:00:01).");
        return problems;
    }
}
