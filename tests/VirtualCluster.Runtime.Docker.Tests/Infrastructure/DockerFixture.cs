using Docker.DotNet;
using Docker.DotNet.Models;

namespace VirtualCluster.Runtime.Docker.Tests.Infrastructure;

/// <summary>
/// Real-daemon test base: a cluster label unique to the test, drivers on it, a temp data root, and a direct
/// Docker client to check what the driver did. Every container carrying the test's cluster label is removed at
/// the end, pass or fail.
/// </summary>
public abstract class DockerFixture : IAsyncLifetime
{
    private readonly List<DockerDriver> _drivers = [];
    private readonly List<string> _images = [];

    protected DockerFixture()
    {
        Root = Directory.CreateTempSubdirectory("vc-docker-tests-").FullName;
        Docker = new DockerClientConfiguration(new Uri(VirtualCluster.Testing.DockerTestEnvironment.Endpoint)).CreateClient();
    }

    protected string Cluster { get; } = "test-" + Guid.NewGuid().ToString("N");

    protected string Root { get; }

    protected DockerClient Docker { get; }

    protected static string Image => VirtualCluster.Testing.DockerTestEnvironment.Image;

    /// <summary>Removes this image from the shared daemon at the end of the test.</summary>
    protected void RemoveImageAfterwards(string image) => _images.Add(image);

    protected DockerDriver NewDriver(string node = "node-1", Action<DockerDriverOptions>? configure = null)
    {
        var options = new DockerDriverOptions { Cluster = Cluster, Node = node, PublishAddress = "127.0.0.1", OutputDrainTimeout = TimeSpan.FromSeconds(1) };
        configure?.Invoke(options);
        var driver = new DockerDriver(options);
        _drivers.Add(driver);
        return driver;
    }

    protected static ServiceSpec Busybox(string command, params string[] args) => new()
    {
        Name = "bb",
        Driver = "docker",
        Image = Image,
        Command = command,
        Args = args,
        Resources = new Resources(250, 32L * 1024 * 1024, 0),
    };

    protected static ServiceSpec Httpd() => Busybox("/bin/httpd", "-f", "-p", "8080", "-h", "/www") with
    {
        Ports = [new PortSpec("http", 8080)],
    };

    protected WorkloadStartRequest Request(string id, ServiceSpec spec, IReadOnlyDictionary<string, int>? ports = null, long epoch = 1) =>
        new(id, epoch, spec, ports ?? new Dictionary<string, int>(), new Dictionary<string, string> { ["VC_INSTANCE_ID"] = id }, Path.Combine(Root, id));

    /// <summary>Containers of this test's cluster, running or not.</summary>
    protected async Task<IList<ContainerListResponse>> ContainersAsync(string? instanceId = null)
    {
        var labels = new Dictionary<string, bool> { [$"{ContainerLabels.Cluster}={Cluster}"] = true };
        if (instanceId is not null) labels[$"{ContainerLabels.Instance}={instanceId}"] = true;
        return await Docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = labels },
        });
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var driver in _drivers) await driver.DisposeAsync();
        try
        {
            foreach (var container in await ContainersAsync())
                await Docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true });
            foreach (var image in _images)
            {
                try { await Docker.Images.DeleteImageAsync(image, new ImageDeleteParameters { Force = true }); }
                catch (DockerImageNotFoundException) { }
            }
        }
        finally
        {
            Docker.Dispose();
            try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
