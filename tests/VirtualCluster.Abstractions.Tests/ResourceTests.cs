using System.Text.Json.Nodes;
using static VirtualCluster.Abstractions.Tests.SpecTestKit;

namespace VirtualCluster.Abstractions.Tests;

public class ResourceTests
{
    private static SpecParseResult WithResource(string name, string json) =>
        ParseWith(d => d["resources"] = new JsonObject { [name] = JsonNode.Parse(json) });

    [Theory]
    [InlineData("\"250m\"", 250)]
    [InlineData("\"0.5\"", 500)]
    [InlineData("\"2\"", 2000)]
    [InlineData("0.25", 250)]
    [InlineData("2", 2000)]
    [InlineData("1e-3", 1)]
    [InlineData("\"1m\"", 1)]
    public void ReadsCpu(string json, long millicores) =>
        Assert.Equal(millicores, AssertValid(WithResource("cpu", json)).Resources.CpuMillicores);

    [Theory]
    [InlineData("\"fast\"", "is not a CPU quantity")]
    [InlineData("\"-1\"", "is not a CPU quantity")]
    [InlineData("-1", "is not a CPU quantity")]
    [InlineData("\"0\"", "less than one millicore")]
    [InlineData("0", "less than one millicore")]
    [InlineData("0.0001", "less than one millicore")]
    [InlineData("2000000", "above 1000000 cores")]
    [InlineData("1e400", "is too large")]
    [InlineData("true", "must be a string like \"250m\" or a number of cores")]
    [InlineData("\"\"", "must not be empty")]
    public void RejectsBadCpu(string json, string message) => AssertError(WithResource("cpu", json), "resources.cpu", message);

    [Theory]
    [InlineData("\"64Mi\"", 64L << 20)]
    [InlineData("\"512M\"", 512_000_000)]
    [InlineData("\"1Gi\"", 1L << 30)]
    [InlineData("1048576", 1L << 20)]
    [InlineData("\"64Ti\"", 64L << 40)]
    public void ReadsMemory(string json, long bytes) =>
        Assert.Equal(bytes, AssertValid(WithResource("memory", json)).Resources.MemoryBytes);

    [Fact]
    public void ExplainsByteQuantities() =>
        AssertError(WithResource("memory", "\"64MB\""), "resources.memory",
            "\"64MB\" is not a byte quantity; write it like \"64Mi\", \"512M\" or \"1Gi\"");

    [Theory]
    [InlineData("\"0\"", "comes to 0 bytes")]
    [InlineData("0", "comes to 0 bytes")]
    [InlineData("1.5", "not a whole number of bytes")]
    [InlineData("-5", "not a whole number of bytes")]
    [InlineData("99999999999999999999", "not a whole number of bytes")]
    [InlineData("\"70000000000000000000000000000Ti\"", "is not a byte quantity")]
    [InlineData("\"99999999Ti\"", "is not a byte quantity")]
    [InlineData("[]", "must be a string like \"64Mi\" or a whole number of bytes, not an array")]
    public void RejectsBadMemory(string json, string message) =>
        AssertError(WithResource("memory", json), "resources.memory", message);

    [Fact]
    public void DiskDefaultsToZeroAndMayBeZero()
    {
        Assert.Equal(0, AssertValid(ParseWith(_ => { })).Resources.DiskBytes);
        Assert.Equal(0, AssertValid(WithResource("disk", "0")).Resources.DiskBytes);
        Assert.Equal(10L << 30, AssertValid(WithResource("disk", "\"10Gi\"")).Resources.DiskBytes);
    }

    [Fact]
    public void RejectsBadDisk() => AssertError(WithResource("disk", "\"lots\""), "resources.disk", "is not a byte quantity");

    [Fact]
    public void KeepsDefaultsForOmittedDimensions() =>
        Assert.Equal(new Resources(2000, 64L << 20, 0), AssertValid(WithResource("cpu", "2")).Resources);

    [Fact]
    public void RejectsUnknownResource()
    {
        var result = WithResource("gpu", "1");
        AssertError(result, "resources.gpu", "is not a known field");
        Assert.Contains("cpu, memory, disk", result.Errors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResourcesMustBeAnObject() =>
        AssertError(ParseWith(d => d["resources"] = "small"), "resources", "must be an object");
}
