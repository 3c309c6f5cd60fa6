using VirtualCluster.Agent.Supervision;

namespace VirtualCluster.Agent.Tests.Supervision;

public sealed class HealthProbeTests
{
    private static readonly IReadOnlyDictionary<string, string> NoEnv = new Dictionary<string, string>();

    private static ServiceSpec Spec(string command, params string[] args) => new()
    {
        Name = "svc",
        Driver = "process",
        Command = "x",
        HealthCheck = new HealthCheckSpec(HealthCheckType.Command, "", "/", TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(500)) { Command = command, Args = args },
    };

    private static Task<(bool Healthy, string Reason)> CheckAsync(ServiceSpec spec) =>
        new HealthProbe(new HttpClient()).CheckAsync(spec, new Dictionary<string, int>(), NoEnv, default);

    [Fact]
    public async Task Exit_code_zero_is_healthy_and_others_say_what_the_command_printed()
    {
        Assert.True((await CheckAsync(Spec("/bin/true"))).Healthy);
        var (healthy, reason) = await CheckAsync(Spec("/bin/sh", "-c", "echo 'database unreachable' >&2; exit 3"));
        Assert.False(healthy);
        Assert.Equal("health check command \"/bin/sh\" exited with code 3: database unreachable", reason);
    }

    [Fact]
    public async Task A_command_that_hangs_is_killed_at_the_timeout()
    {
        var started = DateTime.UtcNow;
        var (healthy, reason) = await CheckAsync(Spec("/bin/sleep", "30"));
        Assert.False(healthy);
        Assert.Contains("did not finish within 0.5 s", reason);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_missing_command_is_unhealthy_with_a_reason()
    {
        var (healthy, reason) = await CheckAsync(Spec("/nonexistent/check"));
        Assert.False(healthy);
        Assert.Contains("could not start", reason);
    }
}
