using static VirtualCluster.Abstractions.Tests.SpecTestKit;

namespace VirtualCluster.Abstractions.Tests;

public class SpecRoundTripTests
{
    [Fact]
    public void FullSpecRoundTrips()
    {
        var spec = new ServiceSpec
        {
            Name = "api",
            Driver = "docker",
            Image = "example/api:1.2",
            Command = "/bin/api",
            Args = ["--x", "", "ünïcode <&>"],
            WorkingDirectory = "/srv",
            Replicas = 7,
            Resources = new Resources(1500, (3L << 30) + 1, 5L << 40),
            Ports = [new PortSpec("http", 8080), new PortSpec("metrics")],
            Env = new Dictionary<string, string> { ["B"] = "2", ["A"] = "line\nbreak \"quoted\"" },
            Volumes = [new VolumeSpec("data", "/data")],
            HealthCheck = new HealthCheckSpec(HealthCheckType.Tcp, "metrics", "/", TimeSpan.FromMilliseconds(1500), TimeSpan.FromMilliseconds(100)),
            RestartPolicy = RestartPolicy.Never,
            Placement = new PlacementSpec(new Dictionary<string, string> { ["zone"] = "eu-1", ["disk"] = "" }),
        };

        var parsed = AssertValid(ServiceSpecParser.Parse(ServiceSpecParser.ToJson(spec)));

        AssertSameSpec(spec, parsed);
        Assert.Equal(spec.Resources, parsed.Resources);
        Assert.Equal(spec.HealthCheck, parsed.HealthCheck);
        Assert.Equal(spec.Args, parsed.Args);
        Assert.Equal(spec.Ports, parsed.Ports);
        Assert.Equal(spec.Env.OrderBy(e => e.Key), parsed.Env.OrderBy(e => e.Key));
    }

    [Fact]
    public void MinimalSpecRoundTrips()
    {
        var spec = AssertValid(ServiceSpecParser.Parse("""{"name": "web", "command": "dotnet"}"""));
        AssertSameSpec(spec, AssertValid(ServiceSpecParser.Parse(ServiceSpecParser.ToJson(spec))));
    }

    [Fact]
    public void WritesReadableQuantities()
    {
        var json = ServiceSpecParser.ToJson(AssertValid(ServiceSpecParser.Parse("""{"name": "web", "command": "dotnet", "resources": {"cpu": 0.25, "memory": "1Gi"}}""")));
        Assert.Contains("\"cpu\": \"250m\"", json, StringComparison.Ordinal);
        Assert.Contains("\"memory\": \"1Gi\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void SortsMapKeysSoEqualSpecsGiveEqualText()
    {
        var a = new ServiceSpec { Name = "x", Driver = "process", Command = "c", Env = new Dictionary<string, string> { ["A"] = "1", ["B"] = "2" } };
        var b = a with { Env = new Dictionary<string, string> { ["B"] = "2", ["A"] = "1" } };
        Assert.Equal(ServiceSpecParser.ToJson(a), ServiceSpecParser.ToJson(b));
    }
}
