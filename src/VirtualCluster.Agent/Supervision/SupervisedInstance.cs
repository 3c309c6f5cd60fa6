using VirtualCluster.Api;

namespace VirtualCluster.Agent.Supervision;

/// <summary>Mutable bookkeeping of one assigned instance; only the supervision loop touches it.</summary>
internal sealed class SupervisedInstance(Assignment assignment)
{
    public Assignment Assignment { get; set; } = assignment;
    public InstanceState State { get; set; } = InstanceState.Starting;
    public string Reason { get; set; } = "starting";
    public int RestartCount { get; set; }
    public int? Pid { get; set; }
    public DateTimeOffset? RestartAt { get; set; }
    public DateTimeOffset LastProbe { get; set; } = DateTimeOffset.MinValue;
    /// <summary>When the current run was started (or adopted).</summary>
    public DateTimeOffset StartedAt { get; set; }
    /// <summary>True once a health check passed in the current run.</summary>
    public bool EverHealthy { get; set; }
    /// <summary>Failed health checks in a row that count (outside the grace period).</summary>
    public int ConsecutiveFailures { get; set; }
    /// <summary>Stopped by self-fencing: never started again under this id and epoch.</summary>
    public bool Fenced { get; set; }
    /// <summary>A stop in progress (unhealthy restart, or giving up), awaited before the next start.</summary>
    public Task? Stopping { get; set; }
    public string Id => Assignment.InstanceId;
}

/// <summary>What the heartbeat loop reports about one instance; published by the supervision loop.</summary>
/// <param name="Ports">The instance's host ports: the only ports the gateway tunnel may connect to.</param>
/// <param name="Service">The instance's service.</param>
/// <param name="BrowserDirect">True when the service opted in to the browser-direct path (browsers may open channels to its ports).</param>
internal sealed record InstanceSnapshot(string Id, long Epoch, string Driver, InstanceState State, string Reason, int RestartCount, int? Pid, bool FencedSingleton,
    IReadOnlyCollection<int>? Ports = null, string? Service = null, bool BrowserDirect = false);
