using Docker.DotNet;
using Docker.DotNet.Models;

namespace VirtualCluster.Runtime.Docker;

public sealed partial class DockerDriver
{
    /// <summary>
    /// After an agent restart, finds this node's containers by their ownership labels and tracks them again:
    /// a running one is adopted (its output is re-read from Docker with the same sequence numbers; it can be
    /// stopped; its exit is seen), a stopped one is tracked as Exited with its exit code. When one instance has
    /// several containers, the running (else newest) one is kept and the others are removed. Instances this
    /// driver already knows are left as they are. A daemon that does not answer yields an empty list (and a log
    /// line): a later <see cref="StartAsync"/> still adopts or removes leftovers of the instance it starts.
    /// </summary>
    /// <returns>Status of every instance found, already-known ones included.</returns>
    public async Task<IReadOnlyList<WorkloadStatus>> RecoverAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        IReadOnlyList<ContainerListResponse> found;
        try
        {
            found = await _engine.ListContainersAsync(ContainerSpec.OwnerLabels(_options), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DockerApiException || DockerErrors.IsDaemonUnreachable(e))
        {
            LogRecoveryFailed(_engine.Endpoint, DockerErrors.Message(e));
            return [];
        }

        var result = new List<WorkloadStatus>();
        foreach (var group in found.GroupBy(c => c.Labels.Label(ContainerLabels.Instance) ?? "").Where(g => g.Key.Length > 0).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var ordered = group.OrderByDescending(c => c.State is "running" or "paused").ThenByDescending(c => c.Created).ToList();
            var keep = ordered[0];
            try
            {
                foreach (var extra in ordered.Skip(1))
                {
                    LogRemovingLeftover(group.Key, Short(extra.ID), extra.State ?? "");
                    await _engine.RemoveContainerAsync(extra.ID, cancellationToken).ConfigureAwait(false);
                }
                result.Add(await AdoptAsync(group.Key, keep, cancellationToken).ConfigureAwait(false));
            }
            catch (Exception e) when (e is DockerApiException || DockerErrors.IsDaemonUnreachable(e))
            {
                LogRecoveryFailed(_engine.Endpoint, DockerErrors.Message(e));
            }
        }
        return result;
    }

    private async Task<WorkloadStatus> AdoptAsync(string instanceId, ContainerListResponse container, CancellationToken ct)
    {
        if (Find(instanceId) is { } known) return known.Snapshot();
        long.TryParse(container.Labels.Label(ContainerLabels.Epoch), out var epoch);
        var logs = new OutputLog(_options.LogBufferLines);
        logs.Rebase(LogBaseOf(container.Labels));
        var instance = new ContainerInstance(instanceId, epoch, logs, gateHeld: false);
        lock (_sync)
        {
            // Someone started the same id meanwhile: theirs is current.
            if (!_instances.TryAdd(instanceId, instance)) return _instances[instanceId].Snapshot();
        }
        var details = await _engine.InspectContainerAsync(container.ID, ct).ConfigureAwait(false);
        if (details?.State is { Running: true } or { Paused: true })
        {
            Attach(instance, container.ID, details, "adopted after an agent restart");
            LogAdopted(instanceId, Short(container.ID));
        }
        else
        {
            instance.SetContainer(container.ID);
            var code = details?.State is { } state ? (int?)state.ExitCode : null;
            var reason = code is null ? "its container is gone" : $"exited with code {code} before the agent restarted";
            instance.TrySetExited(code, reason);
            if (details is not null) _ = PumpOutputAsync(instance, container.ID, _disposing.Token);
            LogRecoveredExited(instanceId, reason);
        }
        return instance.Snapshot();
    }
}
