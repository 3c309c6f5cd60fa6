using static VirtualCluster.Abstractions.Tests.SpecTestKit;

namespace VirtualCluster.Abstractions.Tests;

public class NameAndDriverTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("hello")]
    [InlineData("hello-api-2")]
    [InlineData("a23456789012345678901234567890123456789012345678901234567890123")]
    public void AcceptsDnsLabels(string name) =>
        Assert.Equal(name, AssertValid(ParseWith(d => d["name"] = name)).Name);

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("Hello", "uppercase")]
    [InlineData("hello_world", "contains \"_\"")]
    [InlineData("1abc", "does not start with a letter")]
    [InlineData("-abc", "does not start with a letter")]
    [InlineData("abc-", "ends with '-'")]
    [InlineData("a234567890123456789012345678901234567890123456789012345678901234", "64 characters")]
    public void RejectsOtherNames(string name, string reason)
    {
        var result = ParseWith(d => d["name"] = name);
        AssertError(result, "name", reason);
        Assert.Contains("1 to 63 lowercase letters", result.Errors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RequiresName() => AssertError(ParseWith(d => d.Remove("name")), "name", "is required");

    [Fact]
    public void NameMustBeAString() => AssertError(ParseWith(d => d["name"] = 5), "name", "must be a string like \"hello-api\", not a number");

    [Fact]
    public void NullIsAWrongType() => AssertError(ParseWith(d => d["name"] = null), "name", "not null");

    [Fact]
    public void RejectsUnknownDriver() =>
        AssertError(ParseWith(d => d["driver"] = "podman"), "driver", "\"podman\" is not a driver; use \"process\" or \"docker\"");

    [Fact]
    public void DriverIsCaseSensitive() =>
        AssertError(ParseWith(d => d["driver"] = "Docker"), "driver", "write \"docker\" (values are case-sensitive)");

    [Fact]
    public void ProcessNeedsCommand() =>
        AssertError(ParseWith(d => d.Remove("command")), "command", "is required when driver is \"process\"");

    [Fact]
    public void ProcessRejectsImage() =>
        AssertError(ParseWith(d => d["image"] = "nginx"), "image", "is only allowed when driver is \"docker\"");

    [Fact]
    public void DockerNeedsImage() =>
        AssertError(ParseWith(d => d["driver"] = "docker"), "image", "is required when driver is \"docker\"");

    [Fact]
    public void CommandMustNotBeBlank() => AssertError(ParseWith(d => d["command"] = "  "), "command", "must not be empty");

    [Fact]
    public void CommandHasALengthLimit() =>
        AssertError(ParseWith(d => d["command"] = new string('x', 4097)), "command", "at most 4096");

    [Fact]
    public void ArgsMustBeStrings() =>
        AssertError(ParseWith(d => d["args"] = new System.Text.Json.Nodes.JsonArray("a", 1)), "args[1]", "must be a string");

    [Fact]
    public void ArgsMustBeAnArray() => AssertError(ParseWith(d => d["args"] = "a b"), "args", "must be an array");

    [Fact]
    public void AcceptsUpTo256Args() =>
        Assert.Equal(256, AssertValid(ParseWith(d => d["args"] = Strings(256, "x"))).Args.Count);

    [Fact]
    public void RejectsMoreThan256Args() => AssertError(ParseWith(d => d["args"] = Strings(257, "x")), "args", "at most 256");

    [Fact]
    public void AcceptsArgOf4096Chars() => AssertValid(ParseWith(d => d["args"] = Strings(1, new string('x', 4096))));

    [Fact]
    public void RejectsLongerArg() => AssertError(ParseWith(d => d["args"] = Strings(1, new string('x', 4097))), "args[0]", "at most 4096");

    [Fact]
    public void WorkingDirectoryMustBeAString() =>
        AssertError(ParseWith(d => d["workingDirectory"] = true), "workingDirectory", "must be a string");

    [Theory]
    [InlineData(1)]
    [InlineData(1000)]
    public void AcceptsReplicasInRange(int replicas) =>
        Assert.Equal(replicas, AssertValid(ParseWith(d => d["replicas"] = replicas)).Replicas);

    [Theory]
    [InlineData("0")]
    [InlineData("1001")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("1e100")]
    [InlineData("\"2\"")]
    public void RejectsOtherReplicas(string json) =>
        AssertError(ParseWith(d => d["replicas"] = System.Text.Json.Nodes.JsonNode.Parse(json)), "replicas", "a whole number from 1 to 1000");

    [Theory]
    [InlineData("always", RestartPolicy.Always)]
    [InlineData("onFailure", RestartPolicy.OnFailure)]
    [InlineData("never", RestartPolicy.Never)]
    public void ReadsRestartPolicies(string text, RestartPolicy policy) =>
        Assert.Equal(policy, AssertValid(ParseWith(d => d["restartPolicy"] = text)).RestartPolicy);

    [Fact]
    public void RejectsOtherRestartPolicies() =>
        AssertError(ParseWith(d => d["restartPolicy"] = "on-failure"), "restartPolicy", "use \"always\", \"onFailure\" or \"never\"");

    private static System.Text.Json.Nodes.JsonArray Strings(int count, string value) =>
        new([.. Enumerable.Repeat(value, count).Select(v => (System.Text.Json.Nodes.JsonNode?)v)]);
}
