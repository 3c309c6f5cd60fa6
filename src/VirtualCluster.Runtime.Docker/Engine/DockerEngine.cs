using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace VirtualCluster.Runtime.Docker.Engine;

/// <summary><see cref="IDockerEngine"/> on Docker.DotNet, talking to a real daemon.</summary>
internal sealed class DockerEngine : IDockerEngine
{
    private readonly DockerClientConfiguration _configuration;
    private readonly DockerClient _client;

    public DockerEngine(string endpoint, TimeSpan requestTimeout)
    {
        Endpoint = endpoint;
        _configuration = new DockerClientConfiguration(new Uri(endpoint), credentials: null, defaultTimeout: requestTimeout);
        _client = _configuration.CreateClient();
    }

    public string Endpoint { get; }

    public Task PingAsync(CancellationToken cancellationToken) => _client.System.PingAsync(cancellationToken);

    public async Task<bool> ImageExistsAsync(string image, CancellationToken cancellationToken)
    {
        try
        {
            await _client.Images.InspectImageAsync(image, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    public async Task PullImageAsync(ImageReference image, IProgress<JSONMessage> progress, CancellationToken cancellationToken)
    {
        // The daemon reports most pull failures inside the 200 OK stream, not as an HTTP error: collect them.
        string? error = null;
        var relay = new Relay(message =>
        {
            if (message.Error?.Message is { Length: > 0 } text) error ??= text;
            else if (message.ErrorMessage is { Length: > 0 } legacy) error ??= legacy;
            progress.Report(message);
        });
        var parameters = new ImagesCreateParameters { FromImage = image.Repository, Tag = image.TagOrDigest };
        await _client.Images.CreateImageAsync(parameters, authConfig: null, relay, cancellationToken).ConfigureAwait(false);
        if (error is not null) throw new DockerApiException(HttpStatusCode.InternalServerError, error);
    }

    public async Task<string> CreateContainerAsync(CreateContainerParameters parameters, CancellationToken cancellationToken) =>
        (await _client.Containers.CreateContainerAsync(parameters, cancellationToken).ConfigureAwait(false)).ID;

    public Task StartContainerAsync(string id, CancellationToken cancellationToken) =>
        _client.Containers.StartContainerAsync(id, new ContainerStartParameters(), cancellationToken);

    public async Task<ContainerInspectResponse?> InspectContainerAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.Containers.InspectContainerAsync(id, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }
    }

    public async Task<long> WaitContainerAsync(string id, CancellationToken cancellationToken) =>
        (await _client.Containers.WaitContainerAsync(id, cancellationToken).ConfigureAwait(false)).StatusCode;

    public async Task StopContainerAsync(string id, TimeSpan gracePeriod, CancellationToken cancellationToken)
    {
        var seconds = (uint)Math.Ceiling(Math.Max(0, gracePeriod.TotalSeconds));
        try
        {
            await _client.Containers.StopContainerAsync(id, new ContainerStopParameters { WaitBeforeKillSeconds = seconds }, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (DockerContainerNotFoundException)
        {
        }
    }

    public async Task RemoveContainerAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            await _client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true }, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerContainerNotFoundException)
        {
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.Conflict && e.Message.Contains("already in progress", StringComparison.Ordinal))
        {
            // Someone else is removing it.
        }
    }

    public async Task<IReadOnlyList<ContainerListResponse>> ListContainersAsync(IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken)
    {
        var filter = labels.ToDictionary(l => $"{l.Key}={l.Value}", _ => true);
        var parameters = new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = filter },
        };
        return [.. await _client.Containers.ListContainersAsync(parameters, cancellationToken).ConfigureAwait(false)];
    }

    public async Task<IContainerOutput> FollowOutputAsync(string id, CancellationToken cancellationToken)
    {
        var parameters = new ContainerLogsParameters { Follow = true, ShowStdout = true, ShowStderr = true, Timestamps = false };
        var stream = await _client.Containers.GetContainerLogsAsync(id, tty: false, parameters, cancellationToken).ConfigureAwait(false);
        return new Output(stream);
    }

    public void Dispose()
    {
        _client.Dispose();
        _configuration.Dispose();
    }

    /// <summary>Reports synchronously, in order (unlike <see cref="Progress{T}"/>, which posts).</summary>
    private sealed class Relay(Action<JSONMessage> report) : IProgress<JSONMessage>
    {
        public void Report(JSONMessage value) => report(value);
    }

    private sealed class Output(MultiplexedStream stream) : IContainerOutput
    {
        public async Task<(int Count, bool IsStderr)> ReadAsync(byte[] buffer, CancellationToken cancellationToken)
        {
            var result = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false);
            return result.EOF ? (0, false) : (result.Count, result.Target == MultiplexedStream.TargetStream.StandardError);
        }

        public void Dispose() => stream.Dispose();
    }
}
