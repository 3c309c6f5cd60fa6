using System.Text.Json.Nodes;
using static VirtualCluster.Abstractions.Tests.SpecTestKit;

namespace VirtualCluster.Abstractions.Tests;

/// <summary>The failover section and the health-check fields added for failover: command checks, thresholds, grace.</summary>
public sealed class FailoverAndCheckTests
{
    private static SpecParseResult WithFailover(string json) => ParseWith(d => d["failover"] = JsonNode.Parse(json));

    private static SpecParseResult WithCheck(string json) => ParseWith(d => d["healthCheck"] = JsonNode.Parse(json));

    [Fact]
    public void Failover_defaults_to_moving_at_once_with_five_attempts()
    {
        var spec = AssertValid(ParseWith(_ => { }));
        Assert.Equal(FailoverPolicy.Default, spec.Failover);
        Assert.Equal(new FailoverPolicy(true, TimeSpan.Zero, 5), spec.Failover);
        Assert.True(spec.IsFencedSingleton);
    }

    [Fact]
    public void Failover_object_sets_delay_and_attempts()
    {
        var spec = AssertValid(WithFailover("""{"delay": "30s", "maxAttempts": 2}"""));
        Assert.Equal(new FailoverPolicy(true, TimeSpan.FromSeconds(30), 2), spec.Failover);
        Assert.Equal(TimeSpan.Zero, AssertValid(WithFailover("""{"delay": "0s"}""")).Failover.Delay);
        Assert.Equal(0, AssertValid(WithFailover("""{"maxAttempts": 0}""")).Failover.MaxAttempts);
    }

    [Fact]
    public void Failover_never_pins_instances_and_is_not_fenced()
    {
        var spec = AssertValid(WithFailover("\"never\""));
        Assert.Equal(FailoverPolicy.Never, spec.Failover);
        Assert.False(spec.Failover.Enabled);
        Assert.False(spec.IsFencedSingleton);
    }

    [Fact]
    public void Replicated_services_are_not_fenced_singletons() =>
        Assert.False(AssertValid(ParseWith(d => d["replicas"] = 2)).IsFencedSingleton);

    [Theory]
    [InlineData("\"sometimes\"", "failover", "\"sometimes\" is not a failover policy; write \"never\"")]
    [InlineData("\"Never\"", "failover", "is not a failover policy")]
    [InlineData("true", "failover", "must be an object like")]
    [InlineData("""{"delay": "soon"}""", "failover.delay", "is not a duration")]
    [InlineData("""{"delay": "50ms"}""", "failover.delay", "use at least \"100ms\" (or \"0s\")")]
    [InlineData("""{"delay": "2h"}""", "failover.delay", "too long")]
    [InlineData("""{"maxAttempts": -1}""", "failover.maxAttempts", "use a whole number from 0 to 1000")]
    [InlineData("""{"maxAttempts": 2.5}""", "failover.maxAttempts", "is not allowed")]
    [InlineData("""{"retries": 3}""", "failover.retries", "allowed fields here: delay, maxAttempts")]
    public void Bad_failover_sections_name_the_field_and_the_fix(string json, string field, string text) =>
        AssertError(WithFailover(json), field, text);

    [Fact]
    public void Command_check_runs_a_program_and_needs_no_port()
    {
        var check = AssertValid(WithCheck("""{"type": "command", "command": "/usr/bin/test", "args": ["-f", "/tmp/ready"], "interval": "1s"}""")).HealthCheck!;
        Assert.Equal(HealthCheckType.Command, check.Type);
        Assert.Equal("/usr/bin/test", check.Command);
        Assert.Equal(["-f", "/tmp/ready"], check.Args);
        Assert.Equal("", check.Port);
    }

    [Theory]
    [InlineData("""{"type": "command"}""", "healthCheck.command", "is required for a command check")]
    [InlineData("""{"type": "command", "command": "x", "port": "http"}""", "healthCheck.port", "only used by \"type\": \"http\" or \"tcp\"")]
    [InlineData("""{"type": "command", "command": "x", "path": "/h"}""", "healthCheck.path", "remove it for a command check")]
    [InlineData("""{"port": "http", "command": "x"}""", "healthCheck.command", "only used by \"type\": \"command\"")]
    [InlineData("""{"type": "tcp", "port": "http", "args": []}""", "healthCheck.args", "only used by \"type\": \"command\"")]
    [InlineData("""{"type": "command", "command": "x", "args": "-f"}""", "healthCheck.args", "must be an array")]
    [InlineData("""{"port": "http", "failureThreshold": 0}""", "healthCheck.failureThreshold", "from 1 to 100")]
    [InlineData("""{"port": "http", "gracePeriod": "fast"}""", "healthCheck.gracePeriod", "is not a duration")]
    public void Bad_check_fields_name_the_field_and_the_fix(string json, string field, string text) =>
        AssertError(WithCheck(json), field, text);

    [Fact]
    public void Threshold_and_grace_default_and_can_be_set()
    {
        var defaults = AssertValid(WithCheck("""{"port": "http"}""")).HealthCheck!;
        Assert.Equal(3, defaults.FailureThreshold);
        Assert.Equal(TimeSpan.FromSeconds(10), defaults.GracePeriod);
        var set = AssertValid(WithCheck("""{"port": "http", "failureThreshold": 5, "gracePeriod": "0s"}""")).HealthCheck!;
        Assert.Equal(5, set.FailureThreshold);
        Assert.Equal(TimeSpan.Zero, set.GracePeriod);
    }

    [Theory]
    [InlineData("""{"failover": "never", "healthCheck": {"type": "command", "command": "true", "args": ["a", ""], "failureThreshold": 1, "gracePeriod": "0s"}}""")]
    [InlineData("""{"failover": {"delay": "1.5m", "maxAttempts": 0}, "healthCheck": {"port": "http", "gracePeriod": "1m"}}""")]
    [InlineData("""{"failover": {"delay": "0s", "maxAttempts": 5}}""")]
    public void New_fields_round_trip(string extra)
    {
        var document = Minimal();
        foreach (var (key, value) in JsonNode.Parse(extra)!.AsObject()) document[key] = value?.DeepClone();
        var spec = AssertValid(ServiceSpecParser.Parse(document.ToJsonString()));
        var again = AssertValid(ServiceSpecParser.Parse(ServiceSpecParser.ToJson(spec)));
        AssertSameSpec(spec, again);
        Assert.Equal(spec.Failover, again.Failover);
        Assert.Equal(spec.HealthCheck?.FailureThreshold, again.HealthCheck?.FailureThreshold);
        Assert.Equal(spec.HealthCheck?.GracePeriod, again.HealthCheck?.GracePeriod);
        Assert.Equal(spec.HealthCheck?.Args, again.HealthCheck?.Args);
    }

    [Fact]
    public void Default_failover_and_check_settings_are_not_written()
    {
        var json = ServiceSpecParser.ToJson(AssertValid(WithCheck("""{"port": "http"}""")));
        Assert.DoesNotContain("failover", json, StringComparison.Ordinal);
        Assert.DoesNotContain("failureThreshold", json, StringComparison.Ordinal);
        Assert.DoesNotContain("gracePeriod", json, StringComparison.Ordinal);
    }
}
