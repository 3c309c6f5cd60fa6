namespace VirtualCluster.Api;

/// <summary>
/// A threshold alert rule: fires for each node (or service) whose <paramref name="Metric"/> compares true with
/// <paramref name="Threshold"/> for at least <paramref name="For"/>, and resolves when it no longer does. Used by
/// <c>PUT /v1/alerts/rules</c>, <c>--alert-rules FILE</c> and <c>vcluster alerts rules --set FILE</c>; a user rule with
/// a built-in rule's name replaces it (set <paramref name="Enabled"/> false to turn one off).
/// </summary>
/// <param name="Name">The alert's name (alertname), letters and digits, starting with a letter, e.g. "NodeCpuHigh".</param>
/// <param name="Scope">"node" or "service".</param>
/// <param name="Metric">A node's cpu, memory, disk, cpu_allocated, memory_allocated (fractions 0-1), instances or phi; a service's
/// running, desired, missing (desired minus running), restarts, restarts_10m (restarts in the last 10 minutes), cpu_millicores or memory_bytes (what its running instances use, measured by their agents).</param>
/// <param name="Operator">&gt;, &gt;=, &lt;, &lt;=, == or !=.</param>
/// <param name="Threshold">The value compared with.</param>
/// <param name="For">How long the comparison must hold before the alert fires (0 to a day).</param>
/// <param name="Severity">"critical", "warning" or "info".</param>
/// <param name="Match">Only these nodes or services (by name); empty or absent: all.</param>
/// <param name="Summary">Optional text of the alert; "{name}" and "{value}" are replaced.</param>
/// <param name="Enabled">False turns the rule off (with a built-in's name: turns the built-in off).</param>
public sealed record AlertRuleSpec(
    string Name,
    string Scope,
    string Metric,
    string Operator,
    double Threshold,
    TimeSpan For,
    string Severity = "warning",
    IReadOnlyList<string>? Match = null,
    string? Summary = null,
    bool Enabled = true);

/// <summary>A rule in effect, and where it comes from: "built-in", or "user" (stored in the cluster, shared by every control plane).</summary>
public sealed record AlertRuleView(AlertRuleSpec Rule, string Source);

/// <summary><c>GET /v1/alerts/rules</c>: the threshold rules in effect; the node-down, node-suspect and service-degraded rules are always on (tuned by flags).</summary>
public sealed record AlertRulesResponse(IReadOnlyList<AlertRuleView> Rules);

/// <summary>Body of <c>PUT /v1/alerts/rules</c>: the user's rules, replacing every earlier user rule.</summary>
public sealed record AlertRulesRequest(IReadOnlyList<AlertRuleSpec> Rules);
