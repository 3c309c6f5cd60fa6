using System.Text.Json;
using static VirtualCluster.Abstractions.Tests.SpecTestKit;

namespace VirtualCluster.Abstractions.Tests;

public class MalformedInputTests
{
    [Theory]
    [InlineData("", "line 1, position 1")]
    [InlineData("{", "line 1")]
    [InlineData("{\"name\": \"web\",}", "line 1, position 16")]
    [InlineData("{\n  \"name\": web\n}", "line 2, position 11")]
    [InlineData("{} {}", "line 1")]
    [InlineData("nul", "line 1")]
    public void ReportsSyntaxErrorsWithPosition(string json, string position)
    {
        var result = ServiceSpecParser.Parse(json);
        AssertError(result, "$", position);
        Assert.StartsWith("is not valid JSON at line", result.Errors[0].Message, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", result.Errors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RejectsDeepNesting()
    {
        var json = "{\"name\": " + new string('[', 100) + new string(']', 100) + "}";
        AssertError(ServiceSpecParser.Parse(json), "$", "maximum configured depth of 32");
    }

    [Fact]
    public void AcceptsComments() =>
        AssertValid(ServiceSpecParser.Parse("/* spec */ {\"name\": \"web\", // the name\n \"command\": \"dotnet\"}"));

    [Theory]
    [InlineData("[]", "an array")]
    [InlineData("\"web\"", "a string")]
    [InlineData("42", "a number")]
    [InlineData("null", "null")]
    public void RootMustBeAnObject(string json, string kind) => AssertError(ServiceSpecParser.Parse(json), "$", $"must be a JSON object like {{\"name\": \"hello\", \"command\": \"dotnet\"}}, not {kind}");

    [Fact]
    public void DefaultElementIsReportedNotThrown() => AssertError(ServiceSpecParser.Parse(default(JsonElement)), "$", "not nothing");

    [Fact]
    public void NullTextIsReportedNotThrown() => AssertError(ServiceSpecParser.Parse((string)null!), "$", "no document");

    [Fact]
    public void RejectsUnknownFieldAndListsAllowedOnes()
    {
        var result = ParseWith(d => d["replica"] = 2);
        AssertError(result, "replica", "is not a known field");
        Assert.Contains("name, driver, command, image, args, workingDirectory, replicas, resources, ports, env, secrets, volumes, healthCheck, restartPolicy, placement",
            result.Errors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SuggestsTheRightCase() =>
        AssertError(ParseWith(d => d["Replicas"] = 2), "Replicas", "did you mean \"replicas\"? Field names are case-sensitive.");

    [Fact]
    public void RejectsDuplicateFields() =>
        AssertError(ServiceSpecParser.Parse("{\"name\": \"a\", \"name\": \"b\", \"command\": \"x\"}"), "name", "appears more than once");

    [Fact]
    public void UnpairedSurrogateEscapeInValueIsReported() =>
        AssertError(ServiceSpecParser.Parse("{\"name\": \"web\", \"command\": \"\\uD800\"}"), "command", "invalid \\u escape");

    [Fact]
    public void UnpairedSurrogateEscapeInNameIsReported() =>
        AssertError(ServiceSpecParser.Parse("{\"name\": \"web\", \"command\": \"x\", \"\\uDC00\": 1}"), "$", "invalid \\u escape");

    [Fact]
    public void UnpairedSurrogateInTextIsReported() =>
        AssertError(ServiceSpecParser.Parse("{\"name\": \"web\", \"command\": \"\uD800\"}"), "$", "unpaired UTF-16 surrogate");

    [Fact]
    public void HugeValuesAreCutInMessages()
    {
        var result = ParseWith(d => d["name"] = new string('X', 100_000));
        Assert.True(Assert.Single(result.Errors).Message.Length < 300);
    }
}
