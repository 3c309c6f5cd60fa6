using System.Text.Json.Nodes;
using static VirtualCluster.Abstractions.Tests.SpecTestKit;

namespace VirtualCluster.Abstractions.Tests;

public class EnvAndPlacementTests
{
    private static SpecParseResult WithEnv(string json) => ParseWith(d => d["env"] = JsonNode.Parse(json));

    [Fact]
    public void ReadsEnv()
    {
        var spec = AssertValid(WithEnv("""{"A": "1", "_b2": "", "Z_9": "x y"}"""));
        Assert.Equal(3, spec.Env.Count);
        Assert.Equal("x y", spec.Env["Z_9"]);
    }

    [Theory]
    [InlineData("1ABC")]
    [InlineData("LOG-LEVEL")]
    [InlineData("LOG LEVEL")]
    [InlineData("")]
    public void RejectsBadVariableNames(string name)
    {
        var result = ParseWith(d => d["env"] = new JsonObject { [name] = "x" });
        Assert.Contains("is not a valid variable name", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NamesTheVariableInThePath() => AssertError(WithEnv("""{"1X": "x"}"""), "env.1X", "is not a valid variable name");

    [Fact]
    public void QuotesOddNamesInThePath() => AssertError(WithEnv("""{"A.B": "x"}"""), "env[\"A.B\"]", "is not a valid variable name");

    [Theory]
    [InlineData("VC_NODE")]
    [InlineData("vc_node")]
    [InlineData("PORT")]
    [InlineData("Port")]
    public void RejectsReservedNames(string name) =>
        AssertError(ParseWith(d => d["env"] = new JsonObject { [name] = "x" }), $"env.{name}", "is reserved");

    [Fact]
    public void AllowsNamesThatOnlyContainPort() => AssertValid(WithEnv("""{"PORTS": "1", "MY_PORT": "2", "VCX": "3"}"""));

    [Fact]
    public void ValuesMustBeStrings() => AssertError(WithEnv("""{"FOO": 1}"""), "env.FOO", "must be a string");

    [Fact]
    public void RejectsDuplicateKeys() => AssertError(WithEnv("""{"FOO": "1", "FOO": "2"}"""), "env.FOO", "appears more than once");

    [Fact]
    public void AcceptsUpTo256Variables() => Assert.Equal(256, AssertValid(WithEnv(Variables(256))).Env.Count);

    [Fact]
    public void RejectsMoreThan256Variables() => AssertError(WithEnv(Variables(257)), "env", "at most 256");

    [Fact]
    public void EnvMustBeAnObject() => AssertError(WithEnv("""["A=1"]"""), "env", "must be an object");

    [Fact]
    public void ReadsConstraints()
    {
        var spec = AssertValid(ParseWith(d => d["placement"] = JsonNode.Parse("""{"constraints": {"zone": "eu-1", "disk": "ssd"}}""")));
        Assert.Equal("ssd", spec.Placement.Constraints["disk"]);
        Assert.Equal(2, spec.Placement.Constraints.Count);
    }

    [Fact]
    public void EmptyPlacementMeansNoConstraints() =>
        Assert.Empty(AssertValid(ParseWith(d => d["placement"] = new JsonObject())).Placement.Constraints);

    [Fact]
    public void ConstraintValuesMustBeStrings() =>
        AssertError(ParseWith(d => d["placement"] = JsonNode.Parse("""{"constraints": {"gpu": true}}""")), "placement.constraints.gpu", "must be a string");

    [Fact]
    public void RejectsEmptyConstraintKey() =>
        AssertError(ParseWith(d => d["placement"] = JsonNode.Parse("""{"constraints": {"": "x"}}""")), "placement.constraints[\"\"]", "1 to 253 characters");

    [Fact]
    public void RejectsUnknownPlacementField() =>
        AssertError(ParseWith(d => d["placement"] = JsonNode.Parse("""{"spread": true}""")), "placement.spread", "allowed fields here: strategy, constraints, affinity, antiAffinity, topologySpread");

    private static string Variables(int count) =>
        "{" + string.Join(",", Enumerable.Range(0, count).Select(i => $"\"V{i}\": \"x\"")) + "}";
}
