using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace VirtualCluster.Runtime.Docker;

public sealed partial class DockerDriver
{
    /// <inheritdoc />
    /// <remarks>
    /// <para>Runs <see cref="ServiceSpec.Image"/>. <see cref="ServiceSpec.Command"/> replaces the image's entrypoint and
    /// <see cref="ServiceSpec.Args"/> become its arguments (args alone replace the image's CMD). Each named port's
    /// assigned host port is published on <see cref="DockerDriverOptions.PublishAddress"/> to its
    /// <see cref="PortSpec.ContainerPort"/> (the host port number when unset). CPU and memory become NanoCPUs and a
    /// memory limit without extra swap. Volumes are bind mounts of <c>&lt;data dir&gt;/volumes/&lt;name&gt;</c>.</para>
    /// <para>Env: the spec's, the request's, then PORT (first port inside the container), VC_PORT_&lt;NAME&gt; (container
    /// port), VC_HOST_PORT_&lt;NAME&gt; (host port) and VC_VOLUME_&lt;NAME&gt; (mount path).</para>
    /// <para>A container of this instance that an earlier agent left running with the same epoch is adopted instead of
    /// starting a second one; other leftovers of the instance are removed first. When the image is not present, the
    /// call returns state Starting and the pull goes on in the background (see the class remarks).</para>
    /// </remarks>
    /// <exception cref="InvalidOperationException">The instance is already starting or running.</exception>
    public async Task<WorkloadStatus> StartAsync(WorkloadStartRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.InstanceId);
        ArgumentException.ThrowIfNullOrEmpty(request.DataDirectory);
        cancellationToken.ThrowIfCancellationRequested();
        var instance = Reserve(request);
        var pulling = false;
        try
        {
            var image = request.Spec.Image;
            if (string.IsNullOrWhiteSpace(image))
            {
                Fail(instance, "the spec has no image; the docker driver runs spec.image");
                return instance.Snapshot();
            }
            if (PrepareVolumes(instance, request) is not { } volumes) return instance.Snapshot();
            try
            {
                if (await AdoptLeftoverAsync(instance, request, cancellationToken).ConfigureAwait(false)) return instance.Snapshot();
                if (!await _engine.ImageExistsAsync(image, cancellationToken).ConfigureAwait(false))
                {
                    instance.SetStarting($"pulling image {image}");
                    AddNotice(instance, $"image {image} is not present locally; pulling it");
                    LogPulling(instance.Id, image);
                    pulling = true;
                    _ = PullThenRunAsync(instance, request, volumes);
                    return instance.Snapshot();
                }
                await CreateAndRunAsync(instance, request, volumes, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (DockerErrors.IsDaemonUnreachable(e))
            {
                Fail(instance, DockerErrors.Unreachable(_engine.Endpoint, e));
            }
            catch (DockerApiException e)
            {
                Fail(instance, $"the Docker daemon refused: {DockerErrors.Message(e)}");
            }
            catch (OperationCanceledException)
            {
                Fail(instance, "the start was cancelled");
                throw;
            }
            return instance.Snapshot();
        }
        finally
        {
            // A pull in the background holds the gate until it has started the container (or failed).
            if (!pulling) instance.Gate.Release();
        }
    }

    /// <summary>Registers a new run in state Starting, holding its gate, or throws when the id is active.</summary>
    private ContainerInstance Reserve(WorkloadStartRequest request)
    {
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_instances.TryGetValue(request.InstanceId, out var previous) && previous.IsActive)
                throw new InvalidOperationException($"Instance {request.InstanceId} is already {(previous.ContainerId is null ? "starting" : "running")}.");
            // Same id again: keep its buffer so sequences go on.
            var instance = new ContainerInstance(request.InstanceId, request.Epoch, previous?.Logs ?? new OutputLog(_options.LogBufferLines), gateHeld: true);
            _instances[request.InstanceId] = instance;
            previous?.Dispose();
            return instance;
        }
    }

    /// <summary>Creates the data directory and one host directory per volume; null (and Failed) when it cannot.</summary>
    private Dictionary<string, string>? PrepareVolumes(ContainerInstance instance, WorkloadStartRequest request)
    {
        var volumes = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            Directory.CreateDirectory(request.DataDirectory);
            foreach (var volume in request.Spec.Volumes)
            {
                if (!ContainerSpec.IsSafeVolumeName(volume.Name))
                {
                    Fail(instance, $"volume name \"{volume.Name}\" is not a plain directory name");
                    return null;
                }
                var path = Path.GetFullPath(Path.Combine(request.DataDirectory, "volumes", volume.Name));
                Directory.CreateDirectory(path);
                volumes[volume.Name] = path;
            }
            return volumes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(instance, $"cannot create data directory \"{request.DataDirectory}\": {e.Message}");
            return null;
        }
    }

    /// <summary>
    /// Looks for containers of this instance the driver does not track (an earlier agent's, when recovery could not
    /// run): adopts one still running with the same epoch, removes the rest. True when adopted.
    /// </summary>
    private async Task<bool> AdoptLeftoverAsync(ContainerInstance instance, WorkloadStartRequest request, CancellationToken ct)
    {
        var labels = ContainerSpec.OwnerLabels(_options);
        labels[ContainerLabels.Instance] = request.InstanceId;
        var found = await _engine.ListContainersAsync(labels, ct).ConfigureAwait(false);
        var epoch = request.Epoch.ToString(CultureInfo.InvariantCulture);
        var keep = found
            .Where(c => c.State is "running" or "paused" && c.Labels.Label(ContainerLabels.Epoch) == epoch)
            .OrderByDescending(c => c.Created)
            .FirstOrDefault();
        foreach (var container in found.Where(c => c != keep))
        {
            LogRemovingLeftover(instance.Id, Short(container.ID), container.State ?? "");
            await _engine.RemoveContainerAsync(container.ID, ct).ConfigureAwait(false);
        }
        if (keep is null) return false;
        instance.Logs.Rebase(LogBaseOf(keep.Labels));
        var details = await _engine.InspectContainerAsync(keep.ID, ct).ConfigureAwait(false);
        Attach(instance, keep.ID, details, "adopted a container left running by an earlier agent process");
        LogAdopted(instance.Id, Short(keep.ID));
        return true;
    }

    private async Task PullThenRunAsync(ContainerInstance instance, WorkloadStartRequest request, Dictionary<string, string> volumes)
    {
        var image = request.Spec.Image!;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(instance.StartCancelled, _disposing.Token);
        try
        {
            var progress = new PullProgress(image);
            try
            {
                await _engine.PullImageAsync(ImageReference.Parse(image), new Reporter(message =>
                {
                    progress.Add(message);
                    instance.SetStarting(progress.Describe());
                }), cancel.Token).ConfigureAwait(false);
                if (!await _engine.ImageExistsAsync(image, cancel.Token).ConfigureAwait(false))
                    throw new DockerImageNotFoundException(System.Net.HttpStatusCode.NotFound, "the pull ended but the image is not there");
            }
            catch (Exception e) when (e is DockerApiException || DockerErrors.IsDaemonUnreachable(e))
            {
                var why = e is DockerApiException ? DockerErrors.Message(e) : DockerErrors.Unreachable(_engine.Endpoint, e);
                Fail(instance, $"image {image} not found locally and could not be pulled: {why}");
                return;
            }
            LogPulled(instance.Id, image);
            AddNotice(instance, $"pulled image {image}");
            await CreateAndRunAsync(instance, request, volumes, cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            if (instance.TrySetExited(null, $"stopped while pulling image {image}")) LogStartCancelled(instance.Id);
        }
        catch (Exception e) when (e is DockerApiException || DockerErrors.IsDaemonUnreachable(e))
        {
            Fail(instance, e is DockerApiException ? $"the Docker daemon refused: {DockerErrors.Message(e)}" : DockerErrors.Unreachable(_engine.Endpoint, e));
        }
        finally
        {
            instance.Gate.Release();
        }
    }

    private async Task CreateAndRunAsync(ContainerInstance instance, WorkloadStartRequest request, Dictionary<string, string> volumes, CancellationToken ct)
    {
        var parameters = ContainerSpec.Build(_options, request, volumes, instance.Logs.LastSequence);
        string id;
        try
        {
            id = await _engine.CreateContainerAsync(parameters, ct).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            Fail(instance, $"could not create the container: {DockerErrors.Message(e)}");
            return;
        }
        instance.SetContainer(id);
        try
        {
            await _engine.StartContainerAsync(id, ct).ConfigureAwait(false);
            var details = await _engine.InspectContainerAsync(id, ct).ConfigureAwait(false);
            Attach(instance, id, details, "");
            LogStarted(instance.Id, Short(id), request.Spec.Image!);
        }
        catch (Exception e) when (e is DockerApiException or OperationCanceledException)
        {
            if (e is DockerApiException) Fail(instance, DockerErrors.StartFailure(e, request.Ports));
            // A created container that never ran is of no use to anyone.
            await TryRemoveAsync(instance, id).ConfigureAwait(false);
            if (e is OperationCanceledException) throw;
        }
    }

    /// <summary>Marks the run Running on <paramref name="containerId"/> and starts watching it.</summary>
    private void Attach(ContainerInstance instance, string containerId, ContainerInspectResponse? details, string message)
    {
        var pid = details?.State?.Pid is > 0 and <= int.MaxValue ? (int?)details.State.Pid : null;
        DateTimeOffset? startedAt = DateTimeOffset.TryParse(details?.State?.StartedAt, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal, out var started) && started.Year > 1 ? started : null;
        instance.SetRunning(containerId, pid, startedAt, message);
        _ = WatchAsync(instance, containerId);
    }

    private void Fail(ContainerInstance instance, string reason)
    {
        if (!instance.TrySetFailed(reason)) return;
        AddNotice(instance, "failed to start: " + reason);
        LogStartFailed(instance.Id, reason);
    }

    private async Task TryRemoveAsync(ContainerInstance instance, string containerId)
    {
        try
        {
            await _engine.RemoveContainerAsync(containerId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DockerApiException || DockerErrors.IsDaemonUnreachable(e))
        {
            LogRemoveFailed(instance.Id, Short(containerId), DockerErrors.Message(e));
        }
    }

    private static long LogBaseOf(IDictionary<string, string>? labels) =>
        long.TryParse(labels.Label(ContainerLabels.LogBase), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : 0;

    private static string Short(string containerId) => containerId.Length > 12 ? containerId[..12] : containerId;

    /// <summary>Reports synchronously, in order.</summary>
    private sealed class Reporter(Action<JSONMessage> report) : IProgress<JSONMessage>
    {
        public void Report(JSONMessage value) => report(value);
    }
}
