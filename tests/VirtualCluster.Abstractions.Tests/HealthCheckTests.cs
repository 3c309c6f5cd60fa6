using System.Text.Json.Nodes;
using static VirtualCluster.Abstractions.Tests.SpecTestKit;

namespace VirtualCluster.Abstractions.Tests;

public class HealthCheckTests
{
    private static SpecParseResult WithCheck(string json) => ParseWith(d => d["healthCheck"] = JsonNode.Parse(json));

    [Fact]
    public void AppliesDefaults()
    {
        var check = AssertValid(WithCheck("""{"port": "http"}""")).HealthCheck;
        Assert.Equal(new HealthCheckSpec(HealthCheckType.Http, "http", "/", TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1)), check);
    }

    [Fact]
    public void ReadsTcp()
    {
        var check = AssertValid(WithCheck("""{"type": "tcp", "port": "http", "interval": "1m", "timeout": "10s"}""")).HealthCheck;
        Assert.Equal(new HealthCheckSpec(HealthCheckType.Tcp, "http", "/", TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(10)), check);
    }

    [Fact]
    public void RequiresPort() => AssertError(WithCheck("""{"path": "/health"}"""), "healthCheck.port", "is required");

    [Fact]
    public void PortMustBeDeclared() =>
        AssertError(WithCheck("""{"port": "web"}"""), "healthCheck.port", "\"web\" is not a declared port; use one of: http");

    [Fact]
    public void PortMustBeDeclaredEvenWithoutPorts()
    {
        var result = ParseWith(d =>
        {
            d.Remove("ports");
            d["healthCheck"] = JsonNode.Parse("""{"port": "http"}""");
        });
        AssertError(result, "healthCheck.port", "declare it under \"ports\"");
    }

    [Fact]
    public void RejectsUnknownType() => AssertError(WithCheck("""{"type": "grpc", "port": "http"}"""), "healthCheck.type", "use \"http\", \"tcp\" or \"command\"");

    [Fact]
    public void PathMustStartWithSlash() =>
        AssertError(WithCheck("""{"port": "http", "path": "health"}"""), "healthCheck.path", "does not start with '/'");

    [Fact]
    public void PathIsOnlyForHttp() =>
        AssertError(WithCheck("""{"type": "tcp", "port": "http", "path": "/health"}"""), "healthCheck.path", "only used by \"type\": \"http\"");

    [Theory]
    [InlineData("100ms", 100)]
    [InlineData("500ms", 500)]
    [InlineData("2s", 2_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("1m", 60_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("60m", 3_600_000)]
    public void ReadsIntervals(string text, long milliseconds)
    {
        var check = AssertValid(WithCheck($$"""{"port": "http", "interval": "{{text}}", "timeout": "100ms"}""")).HealthCheck!;
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), check.Interval);
    }

    [Theory]
    [InlineData("2 sec", "is not a duration")]
    [InlineData("2", "is not a duration")]
    [InlineData("s", "is not a duration")]
    [InlineData("1.5ms", "is not a duration")]
    [InlineData("-1s", "is not a duration")]
    [InlineData("2S", "is not a duration")]
    [InlineData("99ms", "too short")]
    [InlineData("0s", "too short")]
    [InlineData("61m", "too long")]
    [InlineData("999999999999h", "too long")]
    public void RejectsBadIntervals(string text, string message) =>
        AssertError(WithCheck($$"""{"port": "http", "interval": "{{text}}", "timeout": "100ms"}"""), "healthCheck.interval", message);

    [Fact]
    public void IntervalMustBeAString() =>
        AssertError(WithCheck("""{"port": "http", "interval": 2}"""), "healthCheck.interval", "must be a string like \"2s\"");

    [Fact]
    public void TimeoutMayEqualInterval() =>
        AssertValid(WithCheck("""{"port": "http", "interval": "3s", "timeout": "3s"}"""));

    [Fact]
    public void TimeoutMustNotExceedInterval() =>
        AssertError(WithCheck("""{"port": "http", "interval": "2s", "timeout": "3s"}"""), "healthCheck.timeout", "\"3s\" is longer than the interval \"2s\"");

    [Fact]
    public void DefaultTimeoutShrinksToAShortInterval() =>
        Assert.Equal(TimeSpan.FromMilliseconds(500), AssertValid(WithCheck("""{"port": "http", "interval": "500ms"}""")).HealthCheck!.Timeout);

    [Fact]
    public void TimeoutHasTheSameRange() =>
        AssertError(WithCheck("""{"port": "http", "timeout": "50ms"}"""), "healthCheck.timeout", "too short");

    [Fact]
    public void RejectsUnknownField() =>
        AssertError(WithCheck("""{"port": "http", "retries": 3}"""), "healthCheck.retries", "allowed fields here: type, port, path, interval, timeout");
}
