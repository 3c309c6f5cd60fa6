namespace VirtualCluster.Scheduling;

/// <summary>
/// One sample of a node, taken from its heartbeat: what it offers, what its instances reserve and what its agent
/// measured. The three words keep one meaning everywhere: <b>capacity</b> is offered, <b>allocated</b> is reserved by
/// instances (their specs' resources), <b>used</b> is measured by the agent.
/// </summary>
/// <param name="At">When the control plane took the sample.</param>
/// <param name="Capacity">What the node offers.</param>
/// <param name="Allocated">Sum of the resources its live instances reserve.</param>
/// <param name="Used">What its agent measured (GPUs are not measured: 0).</param>
public readonly record struct UtilizationSample(DateTimeOffset At, Resources Capacity, Resources Allocated, Resources Used);

/// <summary>Values of <see cref="ResourceForecast.Trend"/>.</summary>
public static class ForecastTrend
{
    /// <summary>Too little history to fit a trend (see <see cref="ResourceForecast.MoreHistoryNeeded"/>); nothing is forecast.</summary>
    public const string NotEnoughHistory = "not-enough-history";

    /// <summary>The fitted slope's confidence interval contains zero: noise cannot be told from a trend; nothing is forecast.</summary>
    public const string NoClearTrend = "no-clear-trend";

    /// <summary>The whole confidence interval of the slope is above zero: use grows; <see cref="ResourceForecast.ExhaustedAt"/> says when it meets capacity.</summary>
    public const string Rising = "rising";

    /// <summary>The whole confidence interval of the slope is below zero: use falls.</summary>
    public const string Falling = "falling";
}

/// <summary>Forecast of one resource: what is offered, allocated and used now, the trend of use, and when use meets capacity.</summary>
/// <param name="Resource">"cpu", "memory", "disk" or "gpus".</param>
/// <param name="Capacity">Capacity now (millicores, bytes or devices).</param>
/// <param name="Used">Measured use at the last sample (for the cluster: the sum of its nodes').</param>
/// <param name="TrendPerHour">Fitted slope of use in units per hour (Theil–Sen; for the cluster the sum of its nodes' slopes); 0 while <paramref name="Trend"/> is not-enough-history.</param>
/// <param name="ExhaustedAt">When use meets capacity at this trend; only set when <paramref name="Trend"/> is rising.</param>
/// <param name="Allocated">Sum of what instances reserve now (for the cluster: the sum of its nodes').</param>
/// <param name="Trend">One of <see cref="ForecastTrend"/>: not-enough-history, no-clear-trend, rising, falling.</param>
/// <param name="TrendLowPerHour">Lower end of the slope's confidence interval (95 % by default), units per hour.</param>
/// <param name="TrendHighPerHour">Upper end of the slope's confidence interval, units per hour.</param>
/// <param name="MoreHistoryNeeded">With not-enough-history: about how much longer until there is enough.</param>
public sealed record ResourceForecast(
    string Resource,
    long Capacity,
    long Used,
    double TrendPerHour,
    DateTimeOffset? ExhaustedAt,
    long Allocated = 0,
    string Trend = ForecastTrend.NotEnoughHistory,
    double TrendLowPerHour = 0,
    double TrendHighPerHour = 0,
    TimeSpan? MoreHistoryNeeded = null);

/// <summary>Forecasts of every resource of one node.</summary>
/// <param name="Samples">Samples the forecast used (those since the node's capacity last changed, within the window).</param>
public sealed record NodeForecast(string NodeId, string NodeName, int Samples, IReadOnlyList<ResourceForecast> Resources);

/// <summary>How many more instances of a service fit now, with every filter applied.</summary>
/// <param name="Service">Service name.</param>
/// <param name="AdditionalInstances">Instances that could still be placed (capped at the estimate's limit).</param>
/// <param name="Limit">Cap of the estimate; <paramref name="AdditionalInstances"/> equal to it means "at least".</param>
public sealed record FitEstimate(string Service, int AdditionalInstances, int Limit);

/// <summary>Capacity prediction for the whole cluster and each node.</summary>
/// <param name="Cluster">Per resource, the sum of the node rows (capacity, allocated, used, slope); see <see cref="ResourceForecast"/>.</param>
public sealed record CapacityReport(
    DateTimeOffset At,
    IReadOnlyList<ResourceForecast> Cluster,
    IReadOnlyList<NodeForecast> Nodes,
    IReadOnlyList<FitEstimate> Fits);
