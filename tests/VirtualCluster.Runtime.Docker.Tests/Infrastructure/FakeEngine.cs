using System.Net;
using System.Threading.Channels;
using Docker.DotNet;
using Docker.DotNet.Models;
using VirtualCluster.Runtime.Docker.Engine;

namespace VirtualCluster.Runtime.Docker.Tests.Infrastructure;

/// <summary>
/// An in-memory daemon for unit tests: images by name, containers that "run" until stopped, a pull the test
/// drives message by message, and a switch that makes every call fail as if the socket were gone.
/// </summary>
internal sealed class FakeEngine : IDockerEngine
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Container> _containers = new();
    private int _next;

    public HashSet<string> Images { get; } = new(StringComparer.Ordinal);

    /// <summary>What a pull reports, fed by the test; a null message ends the pull successfully.</summary>
    public Channel<JSONMessage?> Pull { get; } = Channel.CreateUnbounded<JSONMessage?>();

    public bool Gone { get; set; }

    public string Endpoint => "unix:///fake.sock";

    public IReadOnlyList<CreateContainerParameters> Created
    {
        get { lock (_lock) return [.. _containers.Values.Select(c => c.Parameters)]; }
    }

    public Task PingAsync(CancellationToken cancellationToken) => Check();

    public async Task<bool> ImageExistsAsync(string image, CancellationToken cancellationToken)
    {
        await Check();
        lock (_lock) return Images.Contains(image);
    }

    public async Task PullImageAsync(ImageReference image, IProgress<JSONMessage> progress, CancellationToken cancellationToken)
    {
        await Check();
        while (await Pull.Reader.ReadAsync(cancellationToken) is { } message) progress.Report(message);
        lock (_lock) Images.Add(image.ToString());
    }

    public async Task<string> CreateContainerAsync(CreateContainerParameters parameters, CancellationToken cancellationToken)
    {
        await Check();
        lock (_lock)
        {
            var id = $"c{++_next:D12}";
            _containers[id] = new Container(id, parameters);
            return id;
        }
    }

    public async Task StartContainerAsync(string id, CancellationToken cancellationToken)
    {
        await Check();
        Get(id).Running = true;
    }

    public async Task<ContainerInspectResponse?> InspectContainerAsync(string id, CancellationToken cancellationToken)
    {
        await Check();
        Container? c;
        lock (_lock) c = _containers.GetValueOrDefault(id);
        return c is null ? null : new ContainerInspectResponse
        {
            ID = id,
            State = new ContainerState { Running = c.Running, Pid = c.Running ? 4242 : 0, ExitCode = c.ExitCode ?? 0, StartedAt = "2026-01-01T00:00:00Z" },
            HostConfig = c.Parameters.HostConfig,
        };
    }

    public async Task<long> WaitContainerAsync(string id, CancellationToken cancellationToken)
    {
        await Check();
        var c = Get(id);
        var code = await c.Exited.Task.WaitAsync(cancellationToken);
        if (Gone) throw new HttpRequestException("connection reset", new IOException("reset"));
        return code;
    }

    public async Task StopContainerAsync(string id, TimeSpan gracePeriod, CancellationToken cancellationToken)
    {
        await Check();
        Exit(id, 143);
    }

    public async Task RemoveContainerAsync(string id, CancellationToken cancellationToken)
    {
        await Check();
        lock (_lock) _containers.Remove(id);
    }

    public async Task<IReadOnlyList<ContainerListResponse>> ListContainersAsync(IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken)
    {
        await Check();
        lock (_lock)
        {
            return [.. _containers.Values
                .Where(c => labels.All(l => c.Parameters.Labels.TryGetValue(l.Key, out var v) && v == l.Value))
                .Select(c => new ContainerListResponse { ID = c.Id, Labels = c.Parameters.Labels, State = c.Running ? "running" : "exited" })];
        }
    }

    public async Task<IContainerOutput> FollowOutputAsync(string id, CancellationToken cancellationToken)
    {
        await Check();
        return new NoOutput(Get(id).Exited.Task);
    }

    /// <summary>Makes a running container exit with a code.</summary>
    public void Exit(string id, long code)
    {
        var c = Get(id);
        c.Running = false;
        c.ExitCode ??= (int)code;
        c.Exited.TrySetResult(code);
    }

    /// <summary>The daemon vanishes: every call fails, and waits in progress break.</summary>
    public void GoAway()
    {
        Gone = true;
        lock (_lock)
            foreach (var c in _containers.Values) c.Exited.TrySetResult(-1);
    }

    public void Dispose()
    {
    }

    private Container Get(string id)
    {
        lock (_lock) return _containers.TryGetValue(id, out var c) ? c : throw new DockerContainerNotFoundException(HttpStatusCode.NotFound, "{\"message\":\"No such container\"}");
    }

    private Task Check() => Gone ? Task.FromException(new HttpRequestException("Connection refused", new System.Net.Sockets.SocketException(111))) : Task.CompletedTask;

    private sealed class Container(string id, CreateContainerParameters parameters)
    {
        public string Id { get; } = id;
        public CreateContainerParameters Parameters { get; } = parameters;
        public bool Running { get; set; }
        public int? ExitCode { get; set; }
        public TaskCompletionSource<long> Exited { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class NoOutput(Task ended) : IContainerOutput
    {
        public async Task<(int Count, bool IsStderr)> ReadAsync(byte[] buffer, CancellationToken cancellationToken)
        {
            await ended.WaitAsync(cancellationToken);
            return (0, false);
        }

        public void Dispose()
        {
        }
    }
}
