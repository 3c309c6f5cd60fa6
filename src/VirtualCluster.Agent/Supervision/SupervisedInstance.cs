using VirtualCluster.Api;

namespace VirtualCluster.Agent.Supervision;

/// <summary>Mutable bookkeeping of one assigned instance; only the supervisor's loop touches it.</summary>
internal sealed class SupervisedInstance(Assignment assignment)
{
    public Assignment Assignment { get; set; } = assignment;
    public InstanceState State { get; set; } = InstanceState.Starting;
    public string Reason { get; set; } = "starting";
    public int RestartCount { get; set; }
    public int? Pid { get; set; }
    public DateTimeOffset? RestartAt { get; set; }
    public DateTimeOffset LastProbe { get; set; } = DateTimeOffset.MinValue;
    public string Id => Assignment.InstanceId;
}
