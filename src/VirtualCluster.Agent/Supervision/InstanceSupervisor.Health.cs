using VirtualCluster.Runtime;

namespace VirtualCluster.Agent.Supervision;

// Exits, health probes and restarts.
internal sealed partial class InstanceSupervisor
{
    private async Task RefreshAsync(SupervisedInstance instance, CancellationToken ct)
    {
        if (instance.Fenced || instance.State is InstanceState.Failed or InstanceState.Exited) return;
        if (!_drivers.TryGetValue(instance.Assignment.Spec.Driver, out var driver)) return;
        var now = _time.GetUtcNow();
        if (instance.State == InstanceState.Restarting)
        {
            if (instance.RestartAt > now || instance.Stopping is { IsCompleted: false }) return;
            if (instance.Assignment.Spec.IsFencedSingleton && _lease.IsExpired) return; // fenced on the next pass
            instance.Stopping = null;
            await StartAsync(instance, driver, ct);
            return;
        }

        var status = await driver.GetStatusAsync(instance.Id, ct);
        switch (status.State)
        {
            case WorkloadState.Starting when status.Message.Length > 0:
                // Not launched yet (e.g. pulling an image): nothing to probe; show the driver's progress.
                instance.State = InstanceState.Starting;
                instance.Reason = status.Message;
                instance.StartedAt = now; // the grace period starts once it is launched
                break;
            case WorkloadState.Running or WorkloadState.Starting:
                instance.Pid = status.Pid;
                await ProbeAsync(instance, now, ct);
                break;
            case WorkloadState.Exited or WorkloadState.Failed or WorkloadState.NotFound:
                OnExited(instance, status);
                break;
        }
    }

    /// <summary>
    /// Probes when due (every pass until first healthy, then every interval). Failures count once the instance
    /// was healthy or its grace period is over; <see cref="HealthCheckSpec.FailureThreshold"/> in a row restart it.
    /// </summary>
    private async Task ProbeAsync(SupervisedInstance instance, DateTimeOffset now, CancellationToken ct)
    {
        var spec = instance.Assignment.Spec;
        var check = spec.HealthCheck;
        var interval = check?.Interval ?? TimeSpan.FromSeconds(1);
        if (instance.EverHealthy && now - instance.LastProbe < interval) return;
        instance.LastProbe = now;
        var env = ClusterEnvironment(instance.Assignment);
        var (healthy, reason) = await _probe.CheckAsync(spec, instance.Assignment.Ports, env, ct);
        // A probe can pass through a port proxy just as the workload exits: only a workload still running after
        // its check counts as healthy.
        if (healthy && !instance.EverHealthy && _drivers.TryGetValue(spec.Driver, out var current)
            && await current.GetStatusAsync(instance.Id, ct) is { State: not (WorkloadState.Running or WorkloadState.Starting) } ended)
        {
            OnExited(instance, ended);
            return;
        }
        if (healthy)
        {
            instance.State = InstanceState.Running;
            instance.Reason = "";
            instance.EverHealthy = true;
            instance.ConsecutiveFailures = 0;
            return;
        }
        var grace = check?.GracePeriod ?? HealthCheckSpec.DefaultGracePeriod;
        var counts = instance.EverHealthy || now - instance.StartedAt >= grace;
        if (!counts)
        {
            instance.Reason = reason;
            return;
        }
        instance.ConsecutiveFailures++;
        var threshold = check?.FailureThreshold ?? HealthCheckSpec.DefaultFailureThreshold;
        if (instance.State == InstanceState.Running) instance.State = InstanceState.Unhealthy;
        instance.Reason = $"{reason} ({instance.ConsecutiveFailures} of {threshold} failed checks)";
        if (instance.ConsecutiveFailures < threshold) return;

        // Hung or broken: stop it and treat it like an exit, so the restart policy and limit apply.
        var what = instance.EverHealthy
            ? $"failed its health check {threshold} times in a row ({reason})"
            : $"never passed its health check within {grace.TotalSeconds:0.#} s and {threshold} checks ({reason})";
        if (_drivers.TryGetValue(spec.Driver, out var driver))
            instance.Stopping = StopWorkloadAsync(driver, instance.Id, _options.StopGracePeriod, CancellationToken.None);
        Restart(instance, what, failure: true);
    }

    private void OnExited(SupervisedInstance instance, WorkloadStatus status)
    {
        var what = status.State switch
        {
            WorkloadState.Exited => $"exited with code {status.ExitCode}",
            WorkloadState.NotFound => "is gone",
            _ => status.Message.StartsWith("could not start", StringComparison.Ordinal) ? status.Message : $"failed: {status.Message}",
        };
        instance.Pid = null;
        Restart(instance, what, failure: status.ExitCode != 0);
    }

    /// <summary>Schedules a restart by policy with capped exponential backoff and jitter, or ends the instance.</summary>
    private void Restart(SupervisedInstance instance, string what, bool failure)
    {
        var policy = instance.Assignment.Spec.RestartPolicy;
        var restart = policy == RestartPolicy.Always || (policy == RestartPolicy.OnFailure && failure);
        if (!restart)
        {
            instance.State = failure ? InstanceState.Failed : InstanceState.Exited;
            instance.Reason = $"process {what}; restart policy {policy} does not restart it";
            if (failure) LogFailed(_logger, instance.Id, instance.Reason);
            return;
        }
        if (instance.RestartCount >= _options.MaxRestarts)
        {
            Fail(instance, $"process {what}; gave up after {instance.RestartCount} restarts");
            return;
        }
        instance.RestartCount++;
        // Exponential backoff with jitter, capped, so a crash loop does not spin the machine.
        var backoff = TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, 500 * Math.Pow(2, instance.RestartCount - 1)));
        backoff += TimeSpan.FromMilliseconds(Random.Shared.Next(0, 250));
        instance.State = InstanceState.Restarting;
        instance.Reason = $"process {what}; restart {instance.RestartCount} of {_options.MaxRestarts} in {backoff.TotalSeconds:0.#} s";
        instance.RestartAt = _time.GetUtcNow() + backoff;
        LogRestarting(_logger, instance.Id, what, instance.RestartCount);
    }

    private void Fail(SupervisedInstance instance, string reason)
    {
        instance.State = InstanceState.Failed;
        instance.Reason = reason;
        instance.Pid = null;
        LogFailed(_logger, instance.Id, reason);
    }
}
