namespace VirtualCluster.Agent.Supervision;

// Self-fencing: singletons stop when the lease runs out.
internal sealed partial class InstanceSupervisor
{
    /// <summary>
    /// When the lease has run out, stops every singleton at once (short grace) and marks it Stopped for good: the
    /// control plane starts a replacement once the node has been silent for the lease plus a margin, so the old copy
    /// must be gone by then. Each fencing is logged and queued as an event for the control plane.
    /// </summary>
    private async Task FenceIfExpiredAsync(CancellationToken ct)
    {
        if (!_lease.IsExpired) return;
        var targets = _instances.Values.Where(i => i.Assignment.Spec.IsFencedSingleton && !i.Fenced).ToList();
        if (targets.Count == 0) return;
        var silence = _lease.SinceRenewal ?? TimeSpan.Zero;
        var why = $"no answer from the control plane for {silence.TotalSeconds:0.0} s (fencing lease {_lease.Duration.TotalSeconds:0.0} s); "
            + "stopped so that a replacement elsewhere never runs beside it";
        foreach (var instance in targets)
        {
            instance.Fenced = true;
            instance.State = InstanceState.Stopped;
            instance.Reason = "fenced: " + why;
            instance.Pid = null;
            RecordEvent(EventKinds.InstanceFenced, instance.Id, $"stopped {instance.Id}: {why}");
            LogFenced(_logger, instance.Id, silence.TotalSeconds, _lease.Duration.TotalSeconds);
        }
        Publish();
        await Task.WhenAll(targets.Select(i => _drivers.TryGetValue(i.Assignment.Spec.Driver, out var driver)
            ? StopWorkloadAsync(driver, i.Id, _options.FenceGracePeriod, ct)
            : Task.CompletedTask));
    }
}
