using Docker.DotNet;

namespace VirtualCluster.Runtime.Docker;

public sealed partial class DockerDriver
{
    /// <summary>Extra time, past the grace period, to wait for a stopped container's exit to be recorded.</summary>
    private static readonly TimeSpan ExitRecordSlack = TimeSpan.FromSeconds(5);

    /// <inheritdoc />
    /// <remarks>
    /// Cancels a pull in progress; otherwise asks Docker to stop the container (SIGTERM, SIGKILL after
    /// <paramref name="gracePeriod"/>), waits for the exit to be recorded, then removes the container. The instance's
    /// record and buffered output are kept until <see cref="Remove"/>. When the daemon does not answer, the instance
    /// is marked Failed with the reason and the container is left for a later start or recovery to remove.
    /// </remarks>
    public async Task StopAsync(string instanceId, TimeSpan gracePeriod, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        var instance = Find(instanceId);
        if (instance is null) return;
        instance.CancelStart();
        await instance.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (instance.ContainerId is not { } containerId)
            {
                instance.TrySetExited(null, "stopped before its container was created");
                return;
            }
            instance.MarkStopRequested();
            if (instance.IsActive)
            {
                LogStopping(instance.Id, Short(containerId), gracePeriod);
                try
                {
                    await _engine.StopContainerAsync(containerId, gracePeriod, cancellationToken).ConfigureAwait(false);
                    await instance.Ended.WaitAsync(gracePeriod + _options.OutputDrainTimeout + ExitRecordSlack, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is DockerApiException || DockerErrors.IsDaemonUnreachable(e))
                {
                    var reason = e is DockerApiException ? $"could not stop container {Short(containerId)}: {DockerErrors.Message(e)}" : DockerErrors.Unreachable(_engine.Endpoint, e);
                    instance.TrySetFailed(reason);
                    LogStopFailed(instance.Id, Short(containerId), reason);
                    return;
                }
                catch (TimeoutException)
                {
                    LogExitNotObserved(instance.Id, Short(containerId));
                    instance.TrySetExited(null, "stopped; its exit was not observed");
                }
            }
            await TryRemoveAsync(instance, containerId).ConfigureAwait(false);
        }
        finally
        {
            instance.Gate.Release();
        }
    }
}
