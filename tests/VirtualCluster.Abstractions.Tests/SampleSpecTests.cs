using static VirtualCluster.Abstractions.Tests.SpecTestKit;

namespace VirtualCluster.Abstractions.Tests;

public class SampleSpecTests
{
    private static SpecParseResult ParseSample(string file) =>
        ServiceSpecParser.Parse(File.ReadAllText(Path.Combine(RepoRoot(), "samples", "specs", file)));

    [Fact]
    public void HelloParses()
    {
        var spec = AssertValid(ParseSample("hello.json"));
        Assert.Equal("hello", spec.Name);
        Assert.Equal("process", spec.Driver);
        Assert.Equal("dotnet", spec.Command);
        Assert.Equal(["artifacts/bin/HelloService/debug/HelloService.dll"], spec.Args);
        Assert.Equal(2, spec.Replicas);
        Assert.Equal(new Resources(100, 64L << 20, 0), spec.Resources);
        Assert.Equal([new PortSpec("http")], spec.Ports);
        Assert.Equal("hello", spec.Env["GREETING"]);
        Assert.Equal(new HealthCheckSpec(HealthCheckType.Http, "http", "/health", TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1)), spec.HealthCheck);
    }

    [Fact]
    public void BusyboxParsesAsADockerService()
    {
        var spec = AssertValid(ParseSample("busybox.json"));
        Assert.Equal(("busybox", "docker", "vc/busybox:test", "/bin/httpd"), (spec.Name, spec.Driver, spec.Image, spec.Command));
        Assert.Equal(["-f", "-p", "8080", "-h", "/www"], spec.Args);
        Assert.Equal([new PortSpec("http", 8080)], spec.Ports);
        Assert.Equal(new Resources(250, 32L << 20, 0), spec.Resources);
    }

    [Fact]
    public void TooBigParsesButAsksFor64Ti() =>
        Assert.Equal(64L << 40, AssertValid(ParseSample("too-big.json")).Resources.MemoryBytes);

    [Fact]
    public void InvalidReportsEachMistake()
    {
        var result = ParseSample("invalid.json");
        Assert.False(result.Succeeded);
        Assert.Equal(
            new HashSet<string>
            {
                "name", "command", "image", "replicas", "resources.cpu", "resources.memory", "ports[1].name",
                "env.PORT", "env[\"LOG LEVEL\"]", "healthCheck.port", "healthCheck.path", "healthCheck.interval",
                "restartPolicy", "replica",
            },
            result.Errors.Select(e => e.Field).ToHashSet());
    }

    [Fact]
    public void ExamplesInTheDocsParse()
    {
        var doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "service-spec.md"));
        var examples = doc.Split("```json")[1..].Select(part => part[..part.IndexOf("```", StringComparison.Ordinal)]).ToList();
        Assert.Equal(2, examples.Count);
        Assert.All(examples, json => AssertValid(ServiceSpecParser.Parse(json)));
    }
}
