using System.Text.Json;
using System.Text.Json.Nodes;
using VirtualCluster.Api;
using static VirtualCluster.Abstractions.Tests.SpecTestKit;

namespace VirtualCluster.Abstractions.Tests;

public class PlacementSpecTests
{
    private const string Full = """
        {
          "strategy": "spread",
          "constraints": { "zone": "eu-1", "gpu": { "exists": true }, "spot": { "exists": false } },
          "affinity": [ { "key": "disk", "value": "ssd", "weight": 80 }, { "key": "tier", "value": "old", "weight": -30 } ],
          "antiAffinity": "required",
          "topologySpread": [ { "key": "zone", "maxSkew": 2 } ]
        }
        """;

    private static SpecParseResult WithPlacement(string json) => ParseWith(d => d["placement"] = JsonNode.Parse(json));

    [Fact]
    public void DefaultsWhenLeftOut()
    {
        var spec = AssertValid(ParseWith(_ => { }));
        Assert.Equal("binpack", spec.Placement.Strategy);
        Assert.Equal(AntiAffinityMode.Preferred, spec.Placement.AntiAffinity);
        Assert.Empty(spec.Placement.Affinity);
        Assert.Empty(spec.Placement.TopologySpread);
        Assert.Empty(spec.Placement.LabelExists);
        Assert.Equal(0, spec.Resources.Gpus);
    }

    [Fact]
    public void ReadsEveryPlacementField()
    {
        var placement = AssertValid(WithPlacement(Full)).Placement;
        Assert.Equal("spread", placement.Strategy);
        Assert.Equal("eu-1", Assert.Single(placement.Constraints).Value);
        Assert.True(placement.LabelExists["gpu"]);
        Assert.False(placement.LabelExists["spot"]);
        Assert.Equal([new NodeAffinity("disk", "ssd", 80), new NodeAffinity("tier", "old", -30)], placement.Affinity);
        Assert.Equal(AntiAffinityMode.Required, placement.AntiAffinity);
        Assert.Equal(new TopologySpread("zone", 2), Assert.Single(placement.TopologySpread));
    }

    [Fact]
    public void EveryFieldRoundTripsThroughToJson()
    {
        var spec = AssertValid(ParseWith(d =>
        {
            d["placement"] = JsonNode.Parse(Full);
            d["resources"] = JsonNode.Parse("""{"cpu": "2", "memory": "1Gi", "gpus": 2}""");
        }));
        var json = ServiceSpecParser.ToJson(spec);
        var again = AssertValid(ServiceSpecParser.Parse(json));
        AssertSameSpec(spec, again);
        Assert.Equal(2, again.Resources.Gpus);
        Assert.Contains("\"exists\": true", json, StringComparison.Ordinal);
        Assert.Contains("\"antiAffinity\": \"required\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultPlacementIsNotWritten() =>
        Assert.DoesNotContain("placement", ServiceSpecParser.ToJson(AssertValid(ParseWith(_ => { }))), StringComparison.Ordinal);

    [Fact]
    public void StoredJsonWithoutTheNewFieldsStillReads()
    {
        // A spec stored before placement grew: only "constraints", no gpus in resources.
        const string old = """{"name":"web","driver":"process","command":"x","replicas":1,"resources":{"cpuMillicores":100,"memoryBytes":64,"diskBytes":0},"placement":{"constraints":{"zone":"a"}}}""";
        var spec = JsonSerializer.Deserialize<ServiceSpec>(old, VirtualClusterJson.Options)!;
        Assert.Equal("binpack", spec.Placement.Strategy);
        Assert.Equal(AntiAffinityMode.Preferred, spec.Placement.AntiAffinity);
        Assert.Equal(0, spec.Resources.Gpus);
        var back = JsonSerializer.Deserialize<ServiceSpec>(JsonSerializer.Serialize(AssertValid(WithPlacement(Full)), VirtualClusterJson.Options), VirtualClusterJson.Options)!;
        Assert.Equal(AntiAffinityMode.Required, back.Placement.AntiAffinity);
        Assert.True(back.Placement.LabelExists["gpu"]);
    }

    [Theory]
    [InlineData("""{"strategy": "Spread"}""", "placement.strategy", "write \"spread\"")]
    [InlineData("""{"strategy": "random"}""", "placement.strategy", "is not a placement strategy")]
    [InlineData("""{"antiAffinity": "always"}""", "placement.antiAffinity", "is not an anti-affinity mode")]
    [InlineData("""{"constraints": {"gpu": {"exists": "yes"}}}""", "placement.constraints.gpu.exists", "must be true or false")]
    [InlineData("""{"constraints": {"gpu": {}}}""", "placement.constraints.gpu", "needs \"exists\"")]
    [InlineData("""{"constraints": {"gpu": {"exists": true, "exist": true}}}""", "placement.constraints.gpu.exist", "is not a known field")]
    [InlineData("""{"affinity": [{"key": "disk", "value": "ssd", "weight": 0}]}""", "placement.affinity[0].weight", "0 has no effect")]
    [InlineData("""{"affinity": [{"key": "disk", "value": "ssd", "weight": 101}]}""", "placement.affinity[0].weight", "from -100 to 100")]
    [InlineData("""{"affinity": [{"value": "ssd"}]}""", "placement.affinity[0].key", "is required")]
    [InlineData("""{"affinity": [{"key": "disk"}]}""", "placement.affinity[0].value", "is required")]
    [InlineData("""{"affinity": {"key": "disk"}}""", "placement.affinity", "must be an array")]
    [InlineData("""{"topologySpread": [{"key": "zone", "maxSkew": 0}]}""", "placement.topologySpread[0].maxSkew", "from 1 to 1000")]
    [InlineData("""{"topologySpread": [{"key": "zone"}, {"key": "zone"}]}""", "placement.topologySpread[1].key", "is listed twice")]
    [InlineData("""{"topologySpread": [{"maxSkew": 1}]}""", "placement.topologySpread[0].key", "is required")]
    public void ExplainsMistakes(string placement, string field, string text) => AssertError(WithPlacement(placement), field, text);

    [Fact]
    public void RejectsTooManyAffinities()
    {
        var many = new JsonArray([.. Enumerable.Range(0, 17).Select(i => (JsonNode)new JsonObject { ["key"] = $"k{i}", ["value"] = "v" })]);
        AssertError(ParseWith(d => d["placement"] = new JsonObject { ["affinity"] = many }), "placement.affinity", "at most 16");
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("1025")]
    [InlineData("\"2\"")]
    public void RejectsBadGpuCounts(string gpus) =>
        AssertError(ParseWith(d => d["resources"] = JsonNode.Parse($$"""{"gpus": {{gpus}}}""")), "resources.gpus", "whole number from 0 to 1024");

    [Fact]
    public void ResourcesAddAndCompareGpus()
    {
        var node = new Resources(1000, 100, 0, 1);
        Assert.True(node.Fits(new Resources(1000, 100, 0, 1)));
        Assert.False(node.Fits(new Resources(1, 1, 0, 2)));
        Assert.Equal(new Resources(2000, 200, 0, 2), node * 2);
        Assert.Equal(new Resources(0, 0, 0, 0), node - node);
        Assert.Contains("gpus 1", node.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("gpus", new Resources(1, 1, 1).ToString(), StringComparison.Ordinal);
    }
}
