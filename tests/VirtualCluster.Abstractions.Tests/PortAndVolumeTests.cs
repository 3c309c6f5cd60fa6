using System.Text.Json.Nodes;
using static VirtualCluster.Abstractions.Tests.SpecTestKit;

namespace VirtualCluster.Abstractions.Tests;

public class PortAndVolumeTests
{
    private static SpecParseResult WithPorts(string json) => ParseWith(d => d["ports"] = JsonNode.Parse(json));

    private static SpecParseResult WithVolumes(string json) => ParseWith(d => d["volumes"] = JsonNode.Parse(json));

    [Fact]
    public void ReadsPorts()
    {
        var spec = AssertValid(WithPorts("""[{"name": "http"}, {"name": "grpc", "containerPort": 65535}, {"name": "x", "containerPort": 1}]"""));
        Assert.Equal([new PortSpec("http"), new PortSpec("grpc", 65535), new PortSpec("x", 1)], spec.Ports);
    }

    [Fact]
    public void PortsMayBeEmpty() => Assert.Empty(AssertValid(WithPorts("[]")).Ports);

    [Fact]
    public void RejectsDuplicatePortNames() =>
        AssertError(WithPorts("""[{"name": "http"}, {"name": "http"}]"""), "ports[1].name", "\"http\" is already the name of ports[0]");

    [Fact]
    public void RequiresPortName() => AssertError(WithPorts("""[{"containerPort": 80}]"""), "ports[0].name", "is required");

    [Fact]
    public void PortNameIsADnsLabel() => AssertError(WithPorts("""[{"name": "HTTP"}]"""), "ports[0].name", "uppercase");

    [Theory]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("\"80\"")]
    public void RejectsBadContainerPort(string json) =>
        AssertError(WithPorts($$"""[{"name": "http", "containerPort": {{json}}}]"""), "ports[0].containerPort", "a whole number from 1 to 65535");

    [Fact]
    public void AcceptsSixteenPorts() =>
        Assert.Equal(16, AssertValid(WithPorts(PortList(16))).Ports.Count);

    [Fact]
    public void RejectsSeventeenPorts() => AssertError(WithPorts(PortList(17)), "ports", "at most 16");

    [Fact]
    public void RejectsUnknownPortField() =>
        AssertError(WithPorts("""[{"name": "http", "hostPort": 80}]"""), "ports[0].hostPort", "allowed fields here: name, containerPort");

    [Fact]
    public void PortMustBeAnObject() => AssertError(WithPorts("""["http"]"""), "ports[0]", "must be an object");

    [Fact]
    public void ReadsVolumes()
    {
        var spec = AssertValid(WithVolumes("""[{"name": "data", "mountPath": "/data"}, {"name": "win", "mountPath": "C:\\data"}]"""));
        Assert.Equal([new VolumeSpec("data", "/data"), new VolumeSpec("win", "C:\\data")], spec.Volumes);
    }

    [Fact]
    public void RejectsRelativeMountPath() =>
        AssertError(WithVolumes("""[{"name": "data", "mountPath": "data"}]"""), "volumes[0].mountPath", "is not an absolute path");

    [Fact]
    public void RequiresMountPath() =>
        AssertError(WithVolumes("""[{"name": "data"}]"""), "volumes[0].mountPath", "is required");

    [Fact]
    public void RequiresVolumeName() =>
        AssertError(WithVolumes("""[{"mountPath": "/data"}]"""), "volumes[0].name", "is required");

    [Fact]
    public void RejectsDuplicateVolumeNames() =>
        AssertError(WithVolumes("""[{"name": "data", "mountPath": "/a"}, {"name": "data", "mountPath": "/b"}]"""), "volumes[1].name", "already the name of volumes[0]");

    [Fact]
    public void RejectsDuplicateMountPaths() =>
        AssertError(WithVolumes("""[{"name": "a", "mountPath": "/data"}, {"name": "b", "mountPath": "/data"}]"""), "volumes[1].mountPath", "already used by volumes[0]");

    [Fact]
    public void VolumeNameIsADnsLabel() =>
        AssertError(WithVolumes("""[{"name": "my data", "mountPath": "/data"}]"""), "volumes[0].name", "contains \" \"");

    private static string PortList(int count) =>
        "[" + string.Join(",", Enumerable.Range(0, count).Select(i => $$"""{"name": "p{{i}}"}""")) + "]";
}
