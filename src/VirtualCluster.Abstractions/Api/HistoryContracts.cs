namespace VirtualCluster.Api;

/// <summary>One point of a metric's history: the average and the maximum of the samples in its step.</summary>
public sealed record HistoryPoint(DateTimeOffset At, double Average, double Max);

/// <summary>
/// <c>GET /v1/metrics/{nodes|services}/{name}/{metric}</c>: the points of one metric of one node or service.
/// <paramref name="StepSeconds"/> may be larger than asked for when the range reaches back past the finer resolutions;
/// <paramref name="Resolution"/> names the stored resolution the points come from.
/// </summary>
public sealed record HistoryResponse(string Series, string Metric, DateTimeOffset From, DateTimeOffset To, int StepSeconds, string Resolution,
    IReadOnlyList<HistoryPoint> Points);

/// <summary>A stored resolution: points <paramref name="StepSeconds"/> apart, kept for <paramref name="RetentionSeconds"/>.</summary>
public sealed record HistoryResolution(string Name, int StepSeconds, long RetentionSeconds);

/// <summary><c>GET /v1/metrics</c>: what history is kept.</summary>
public sealed record HistoryCatalog(IReadOnlyList<string> NodeMetrics, IReadOnlyList<string> ServiceMetrics, IReadOnlyList<HistoryResolution> Resolutions);
