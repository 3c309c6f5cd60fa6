using Docker.DotNet.Models;

namespace VirtualCluster.Runtime.Docker.Engine;

/// <summary>
/// The few Docker Engine API calls the driver makes. The real one is <see cref="DockerEngine"/>; tests substitute
/// a fake to exercise the driver's state handling without a daemon. Daemon trouble surfaces as the exceptions
/// <see cref="DockerErrors.IsDaemonUnreachable"/> recognizes; API refusals as <c>DockerApiException</c>.
/// </summary>
internal interface IDockerEngine : IDisposable
{
    /// <summary>The daemon's address, for messages.</summary>
    string Endpoint { get; }

    /// <summary>Completes when the daemon answers; throws otherwise.</summary>
    Task PingAsync(CancellationToken cancellationToken);

    /// <summary>True when the image is present locally.</summary>
    Task<bool> ImageExistsAsync(string image, CancellationToken cancellationToken);

    /// <summary>Pulls an image, reporting the daemon's progress messages in order; throws when the pull fails.</summary>
    Task PullImageAsync(ImageReference image, IProgress<JSONMessage> progress, CancellationToken cancellationToken);

    /// <summary>Creates a container; returns its id.</summary>
    Task<string> CreateContainerAsync(CreateContainerParameters parameters, CancellationToken cancellationToken);

    /// <summary>Starts a created container.</summary>
    Task StartContainerAsync(string id, CancellationToken cancellationToken);

    /// <summary>Details of a container, or null when it does not exist.</summary>
    Task<ContainerInspectResponse?> InspectContainerAsync(string id, CancellationToken cancellationToken);

    /// <summary>Waits until the container is not running; returns its exit code.</summary>
    Task<long> WaitContainerAsync(string id, CancellationToken cancellationToken);

    /// <summary>SIGTERM (or the image's stop signal), then SIGKILL after the grace period. No-op when gone.</summary>
    Task StopContainerAsync(string id, TimeSpan gracePeriod, CancellationToken cancellationToken);

    /// <summary>Removes a container, killing it if it still runs. No-op when gone.</summary>
    Task RemoveContainerAsync(string id, CancellationToken cancellationToken);

    /// <summary>Containers, running or not, that carry every one of these labels.</summary>
    Task<IReadOnlyList<ContainerListResponse>> ListContainersAsync(IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken);

    /// <summary>The container's stdout and stderr from its start, following until it stops.</summary>
    Task<IContainerOutput> FollowOutputAsync(string id, CancellationToken cancellationToken);
}

/// <summary>A container's demultiplexed output stream.</summary>
internal interface IContainerOutput : IDisposable
{
    /// <summary>Reads the next chunk; <c>Count</c> 0 at the end of the stream.</summary>
    Task<(int Count, bool IsStderr)> ReadAsync(byte[] buffer, CancellationToken cancellationToken);
}
