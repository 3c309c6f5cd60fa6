using System.Text.Json;
using static VirtualCluster.Abstractions.Tests.SpecTestKit;

namespace VirtualCluster.Abstractions.Tests;

public class ServiceSpecParserTests
{
    private const string Full = """
        {
          // comments are skipped
          "name": "api",
          "driver": "process",
          "command": "dotnet",
          "args": ["api.dll", "--urls", ""],
          "workingDirectory": "/srv/api",
          "replicas": 3,
          "resources": { "cpu": 0.5, "memory": "128Mi", "disk": "1Gi" },
          "ports": [{ "name": "http" }, { "name": "admin", "containerPort": 9000 }],
          "env": { "LOG_LEVEL": "debug", "_X": "" },
          "volumes": [{ "name": "data", "mountPath": "/data" }],
          "healthCheck": { "type": "http", "port": "admin", "path": "/healthz", "interval": "5s", "timeout": "500ms" },
          "restartPolicy": "onFailure",
          "placement": { "constraints": { "zone": "eu-1" } }
        }
        """;

    [Fact]
    public void ReadsEveryField()
    {
        var spec = AssertValid(ServiceSpecParser.Parse(Full));

        Assert.Equal("api", spec.Name);
        Assert.Equal("process", spec.Driver);
        Assert.Equal("dotnet", spec.Command);
        Assert.Null(spec.Image);
        Assert.Equal(["api.dll", "--urls", ""], spec.Args);
        Assert.Equal("/srv/api", spec.WorkingDirectory);
        Assert.Equal(3, spec.Replicas);
        Assert.Equal(new Resources(500, 128L << 20, 1L << 30), spec.Resources);
        Assert.Equal([new PortSpec("http"), new PortSpec("admin", 9000)], spec.Ports);
        Assert.Equal("debug", spec.Env["LOG_LEVEL"]);
        Assert.Equal("", spec.Env["_X"]);
        Assert.Equal([new VolumeSpec("data", "/data")], spec.Volumes);
        Assert.Equal(new HealthCheckSpec(HealthCheckType.Http, "admin", "/healthz", TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(500)), spec.HealthCheck);
        Assert.Equal(RestartPolicy.OnFailure, spec.RestartPolicy);
        Assert.Equal("eu-1", spec.Placement.Constraints["zone"]);
    }

    [Fact]
    public void AppliesDefaults()
    {
        var spec = AssertValid(ServiceSpecParser.Parse("""{"name": "web", "command": "dotnet"}"""));

        Assert.Equal("process", spec.Driver);
        Assert.Empty(spec.Args);
        Assert.Null(spec.WorkingDirectory);
        Assert.Equal(1, spec.Replicas);
        Assert.Equal(new Resources(100, 64L << 20, 0), spec.Resources);
        Assert.Empty(spec.Ports);
        Assert.Empty(spec.Env);
        Assert.Empty(spec.Volumes);
        Assert.Null(spec.HealthCheck);
        Assert.Equal(RestartPolicy.Always, spec.RestartPolicy);
        Assert.Empty(spec.Placement.Constraints);
    }

    [Fact]
    public void ParsesAnElementToo()
    {
        using var document = JsonDocument.Parse(Full, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        var fromElement = AssertValid(ServiceSpecParser.Parse(document.RootElement));
        AssertSameSpec(AssertValid(ServiceSpecParser.Parse(Full)), fromElement);
    }

    [Fact]
    public void ReadsADockerSpec()
    {
        var spec = AssertValid(ServiceSpecParser.Parse("""{"name": "cache", "driver": "docker", "image": "redis:7", "ports": [{"name": "redis", "containerPort": 6379}]}"""));
        Assert.Equal("docker", spec.Driver);
        Assert.Equal("redis:7", spec.Image);
        Assert.Null(spec.Command);
        Assert.Equal(6379, spec.Ports[0].ContainerPort);
    }

    [Fact]
    public void DockerMayOverrideTheCommand()
    {
        var spec = AssertValid(ServiceSpecParser.Parse("""{"name": "cache", "driver": "docker", "image": "redis:7", "command": "redis-server"}"""));
        Assert.Equal("redis-server", spec.Command);
    }

    [Fact]
    public void ReportsEveryErrorAtOnce()
    {
        var result = ServiceSpecParser.Parse("""
            {
              "name": "Bad_Name",
              "replicas": 0,
              "resources": { "memory": "64MB" },
              "ports": [{ "name": "http" }, { "name": "http" }],
              "env": { "FOO": 1 },
              "extra": true
            }
            """);

        Assert.False(result.Succeeded);
        Assert.Null(result.Spec);
        Assert.Equal(
            new HashSet<string> { "name", "command", "replicas", "resources.memory", "ports[1].name", "env.FOO", "extra" },
            result.Errors.Select(e => e.Field).ToHashSet());
        var memory = result.Errors.Single(e => e.Field == "resources.memory");
        Assert.Equal("\"64MB\" is not a byte quantity; write it like \"64Mi\", \"512M\" or \"1Gi\"", memory.Message);
    }
}
