using System.Net;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace VirtualCluster.Runtime.Docker.Tests;

/// <summary>The driver's pure parts: no daemon needed.</summary>
public sealed class PartsTests
{
    [Theory]
    [InlineData("nginx", "nginx", "latest")]
    [InlineData("vc/busybox:test", "vc/busybox", "test")]
    [InlineData("127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app", "latest")]
    [InlineData("127.0.0.1:5000/team/app:1.2", "127.0.0.1:5000/team/app", "1.2")]
    [InlineData("app@sha256:abc", "app", "sha256:abc")]
    public void Image_references_split_into_repository_and_tag(string image, string repository, string tag)
    {
        var reference = ImageReference.Parse(image);
        Assert.Equal((repository, tag), (reference.Repository, reference.TagOrDigest));
    }

    [Fact]
    public void Pull_progress_sums_bytes_over_layers_and_counts_finished_layers_as_complete()
    {
        var progress = new PullProgress("app:1");
        Assert.Equal("pulling image app:1", progress.Describe());
        progress.Add(new JSONMessage { ID = "a", Status = "Pulling fs layer" });
        progress.Add(new JSONMessage { ID = "a", Status = "Downloading", Progress = new JSONProgress { Current = 25, Total = 100 } });
        Assert.Equal("pulling image app:1: 25%", progress.Describe());
        progress.Add(new JSONMessage { ID = "b", Status = "Downloading", Progress = new JSONProgress { Current = 50, Total = 100 } });
        Assert.Equal("pulling image app:1: 37%", progress.Describe());
        progress.Add(new JSONMessage { ID = "a", Status = "Download complete" });
        Assert.Equal("pulling image app:1: 75%", progress.Describe());
        progress.Add(new JSONMessage { ID = "b", Status = "Pull complete" });
        Assert.Equal("pulling image app:1: 100%", progress.Describe());
    }

    [Fact]
    public void Line_reader_handles_split_characters_crlf_long_lines_and_a_last_line_without_newline()
    {
        var lines = new List<string>();
        var reader = new LineReader(8, lines.Add);
        var bytes = Encoding.UTF8.GetBytes("héllo\r\nabcdefghijkl\nend");
        // Feed one byte at a time: 'é' arrives in two halves.
        foreach (var b in bytes) reader.Feed([b]);
        Assert.Equal(["héllo", "abcdefgh" + LineReader.TruncatedMark], lines);
        reader.Flush();
        Assert.Equal("end", lines[^1]);
    }

    [Fact]
    public void Output_log_keeps_the_newest_lines_and_rebases_forward_only()
    {
        var log = new OutputLog(3);
        log.Rebase(10);
        for (var i = 1; i <= 5; i++) log.Append(DateTimeOffset.UnixEpoch, "stdout", $"l{i}");
        Assert.Equal([13L, 14, 15], log.Read(0, 10).Select(l => l.Sequence));
        Assert.Equal(["l5"], log.Read(14, 10).Select(l => l.Text));
        Assert.Single(log.Read(0, 1));
        log.Rebase(2);
        Assert.Equal(15, log.LastSequence);
    }

    [Fact]
    public void Errors_name_the_taken_port_and_use_the_daemons_message()
    {
        var e = new DockerApiException(HttpStatusCode.InternalServerError,
            "{\"message\":\"driver failed programming external connectivity: Bind for 127.0.0.1:20001 failed: port is already allocated\"}");
        var ports = new Dictionary<string, int> { ["http"] = 20001, ["admin"] = 20002 };
        Assert.StartsWith("host port 20001 (http) is already in use on this node: driver failed", DockerErrors.StartFailure(e, ports));
        Assert.Equal("the container did not start: boom", DockerErrors.StartFailure(new DockerApiException(HttpStatusCode.BadRequest, "boom"), ports));
        Assert.True(DockerErrors.IsDaemonUnreachable(new HttpRequestException("x", new System.Net.Sockets.SocketException(111))));
        Assert.False(DockerErrors.IsDaemonUnreachable(e));
        Assert.False(DockerErrors.IsDaemonUnreachable(new InvalidOperationException()));
    }

    [Fact]
    public void Create_request_maps_command_ports_limits_env_volumes_and_labels()
    {
        var options = new DockerDriverOptions { Cluster = "c1", Node = "n1", PublishAddress = "127.0.0.1" };
        var spec = new ServiceSpec
        {
            Name = "web",
            Driver = "docker",
            Image = "app:1",
            Command = "/bin/httpd",
            Args = ["-f"],
            Resources = new Resources(1500, 128L << 20, 0),
            Ports = [new PortSpec("http", 8080), new PortSpec("metrics")],
            Env = new Dictionary<string, string> { ["A"] = "1", ["PORT"] = "spec" },
            Volumes = [new VolumeSpec("data", "/var/data")],
        };
        var request = new WorkloadStartRequest("web-1", 9, spec, new Dictionary<string, int> { ["http"] = 20000, ["metrics"] = 20001 },
            new Dictionary<string, string> { ["VC_INSTANCE_ID"] = "web-1" }, "/tmp/x/web-1");
        var p = ContainerSpec.Build(options, request, new Dictionary<string, string> { ["data"] = "/tmp/x/web-1/volumes/data" }, logBase: 42);

        Assert.Equal(["/bin/httpd"], p.Entrypoint);
        Assert.Equal(["-f"], p.Cmd);
        Assert.Equal(ContainerSpec.Name(options, "web-1"), p.Name);
        Assert.StartsWith("vc-web-1-", p.Name);
        Assert.NotEqual(p.Name, ContainerSpec.Name(new DockerDriverOptions { Cluster = "c1", Node = "n2" }, "web-1"));
        Assert.Equal("20000", Assert.Single(p.HostConfig.PortBindings["8080/tcp"]).HostPort);
        // No containerPort: the container listens on the host port's number.
        Assert.Equal("127.0.0.1", Assert.Single(p.HostConfig.PortBindings["20001/tcp"]).HostIP);
        Assert.Equal(1_500_000_000, p.HostConfig.NanoCPUs);
        Assert.Equal(128L << 20, p.HostConfig.Memory);
        Assert.Equal(RestartPolicyKind.No, p.HostConfig.RestartPolicy.Name);
        var mount = Assert.Single(p.HostConfig.Mounts);
        Assert.Equal(("bind", "/tmp/x/web-1/volumes/data", "/var/data"), (mount.Type, mount.Source, mount.Target));
        Assert.Equal(["A=1", "PORT=8080", "VC_HOST_PORT_HTTP=20000", "VC_HOST_PORT_METRICS=20001", "VC_INSTANCE_ID=web-1", "VC_PORT_HTTP=8080", "VC_PORT_METRICS=20001", "VC_VOLUME_DATA=/var/data"],
            p.Env.Order(StringComparer.Ordinal));
        Assert.Equal(("c1", "n1", "web", "web-1", "9", "42"), (p.Labels[ContainerLabels.Cluster], p.Labels[ContainerLabels.Node],
            p.Labels[ContainerLabels.Service], p.Labels[ContainerLabels.Instance], p.Labels[ContainerLabels.Epoch], p.Labels[ContainerLabels.LogBase]));

        var argsOnly = ContainerSpec.Build(options, request with { Spec = spec with { Command = null } }, new Dictionary<string, string> { ["data"] = "/d" }, 0);
        Assert.Null(argsOnly.Entrypoint);
        Assert.Equal(["-f"], argsOnly.Cmd);
        var imageDefaults = ContainerSpec.Build(options, request with { Spec = spec with { Command = null, Args = [] } }, new Dictionary<string, string> { ["data"] = "/d" }, 0);
        Assert.Null(imageDefaults.Cmd);
    }

    [Fact]
    public void Options_validation_lists_every_problem_with_its_property()
    {
        var errors = new DockerDriverOptions { Endpoint = "nope", PublishAddress = "localhost", LogBufferLines = 0, PingTimeout = TimeSpan.Zero }.Validate();
        foreach (var name in new[] { "Endpoint", "PublishAddress", "Cluster", "Node", "LogBufferLines", "PingTimeout" })
            Assert.Contains(errors, e => e.StartsWith(name, StringComparison.Ordinal));
        var thrown = Assert.Throws<ArgumentException>(() => new DockerDriver(new DockerDriverOptions()));
        Assert.Contains("Cluster is empty", thrown.Message);
        Assert.Empty(new DockerDriverOptions { Cluster = "c", Node = "n" }.Validate());
    }
}
