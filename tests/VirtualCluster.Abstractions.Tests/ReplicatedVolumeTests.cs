using System.Text.Json.Nodes;
using static VirtualCluster.Abstractions.Tests.SpecTestKit;

namespace VirtualCluster.Abstractions.Tests;

/// <summary><c>replicas</c> and <c>sync</c> of a volume (issue 16).</summary>
public class ReplicatedVolumeTests
{
    private static SpecParseResult WithVolumes(string json) => ParseWith(d => d["volumes"] = JsonNode.Parse(json));

    [Fact]
    public void ReadsReplicasAndSync()
    {
        var spec = AssertValid(WithVolumes("""[{"name": "data", "mountPath": "/data", "replicas": 2, "sync": "500ms"}]"""));
        Assert.Equal(new VolumeSpec("data", "/data", 2, TimeSpan.FromMilliseconds(500)), spec.Volumes[0]);
        Assert.Equal(TimeSpan.FromMilliseconds(500), spec.Volumes[0].SyncInterval);
    }

    [Fact]
    public void DefaultsToNoReplicasAndFiveSeconds()
    {
        var volume = AssertValid(WithVolumes("""[{"name": "data", "mountPath": "/data"}]""")).Volumes[0];
        Assert.Equal(0, volume.Replicas);
        Assert.Null(volume.Sync);
        Assert.Equal(TimeSpan.FromSeconds(5), volume.SyncInterval);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("8")]
    [InlineData("1.5")]
    [InlineData("\"2\"")]
    [InlineData("null")]
    [InlineData("99999999999999999999")]
    public void RejectsBadReplicas(string json) =>
        AssertError(WithVolumes($$"""[{"name": "data", "mountPath": "/data", "replicas": {{json}}}]"""), "volumes[0].replicas", "a whole number from 0 to 7");

    [Theory]
    [InlineData("\"5\"", "is not a duration")]
    [InlineData("\"fast\"", "is not a duration")]
    [InlineData("\"-5s\"", "is not a duration")]
    [InlineData("\"10ms\"", "is too short")]
    [InlineData("\"0s\"", "is too short")]
    [InlineData("\"2h\"", "is too long")]
    [InlineData("5", "")]
    public void RejectsBadSync(string json, string text) =>
        AssertError(WithVolumes($$"""[{"name": "data", "mountPath": "/data", "replicas": 1, "sync": {{json}}}]"""), "volumes[0].sync", text);

    [Fact]
    public void NamesTheVolumeWithTheBadField() =>
        AssertError(WithVolumes("""[{"name": "a", "mountPath": "/a"}, {"name": "b", "mountPath": "/b", "sync": "soon"}]"""), "volumes[1].sync", "\"soon\" is not a duration");

    [Fact]
    public void RejectsUnknownVolumeField() =>
        AssertError(WithVolumes("""[{"name": "data", "mountPath": "/data", "replica": 2}]"""), "volumes[0].replica", "replicas");

    [Fact]
    public void RoundTrips()
    {
        var spec = AssertValid(WithVolumes("""[{"name": "data", "mountPath": "/data", "replicas": 3, "sync": "2s"}, {"name": "tmp", "mountPath": "/tmp"}]"""));
        var again = AssertValid(ServiceSpecParser.Parse(ServiceSpecParser.ToJson(spec)));
        Assert.Equal(spec.Volumes, again.Volumes);
    }
}
