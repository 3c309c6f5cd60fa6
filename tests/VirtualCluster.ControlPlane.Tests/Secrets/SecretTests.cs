using System.Security.Cryptography;
using VirtualCluster.ControlPlane.Secrets;
using VirtualCluster.ControlPlane.Tests.Failover;

namespace VirtualCluster.ControlPlane.Tests.Secrets;

/// <summary>
/// Secret env values: sealed in the store, shown by name only, opened only in the assignments of the node that runs
/// the instance. The leak search over real files and a real agent is in the integration tests (SecretLeakTests).
/// </summary>
public sealed class SecretTests : ClusterTestBase
{
    private const string Value = "pa55-w0rd-that-must-not-leak";
    private static readonly string WithSecret = Spec("db", replicas: 1, extra: $$""", "env": { "MODE": "prod" }, "secrets": { "DB_PASSWORD": "{{Value}}" }""");

    [Fact]
    public async Task The_store_holds_the_value_sealed_the_view_holds_its_name_and_only_the_running_node_gets_it()
    {
        var n1 = await JoinAsync("node-1");
        var n2 = await JoinAsync("node-2");
        var placed = Assert.Single(await DeployAsync(WithSecret));

        var stored = (await Store.GetServiceAsync("db"))!.Spec.Secrets["DB_PASSWORD"];
        Assert.StartsWith(SecretSealer.Prefix, stored, StringComparison.Ordinal);
        Assert.DoesNotContain(Value, stored, StringComparison.Ordinal);
        Assert.Equal(SecretSealer.Redacted, (await ViewAsync("db")).Spec.Secrets["DB_PASSWORD"]);

        var running = placed.NodeId;
        var idle = running == n1 ? n2 : n1;
        var assignment = Assert.Single((await BeatAsync(running)).Value!.Assignments);
        Assert.Equal(Value, assignment.Spec.Secrets["DB_PASSWORD"]); // positive control: the agent that runs it gets it
        Assert.Equal("prod", assignment.Spec.Env["MODE"]);
        Assert.Empty((await BeatAsync(idle)).Value!.Assignments);
        Assert.DoesNotContain(await EventsAsync(), e => e.Message.Contains(Value, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Deploying_the_same_secret_again_is_a_no_op_and_another_value_is_a_conflict()
    {
        await JoinAsync("node-1");
        await DeployAsync(WithSecret);
        Assert.Equal(200, (await Cluster.DeployAsync(WithSecret, default)).StatusCode);
        var changed = await Cluster.DeployAsync(WithSecret.Replace(Value, "another-value"), default);
        Assert.Equal(409, changed.StatusCode);
        Assert.DoesNotContain("another-value", changed.Error!.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sealed_value_copied_into_another_variable_or_service_does_not_open()
    {
        var sealer = new SecretSealer(Store);
        var spec = ServiceSpecParser.Parse(WithSecret).Spec!;
        var sealedSpec = await sealer.SealAsync(spec, default);
        Assert.Equal(Value, (await sealer.OpenAsync(sealedSpec, default)).Secrets["DB_PASSWORD"]);

        var moved = sealedSpec with { Secrets = new Dictionary<string, string> { ["OTHER"] = sealedSpec.Secrets["DB_PASSWORD"] } };
        await Assert.ThrowsAnyAsync<CryptographicException>(() => sealer.OpenAsync(moved, default));
        var otherService = sealedSpec with { Name = "evil" };
        await Assert.ThrowsAnyAsync<CryptographicException>(() => sealer.OpenAsync(otherService, default));
        var tampered = sealedSpec with { Secrets = new Dictionary<string, string> { ["DB_PASSWORD"] = sealedSpec.Secrets["DB_PASSWORD"][..^4] + "AAA=" } };
        await Assert.ThrowsAnyAsync<CryptographicException>(() => sealer.OpenAsync(tampered, default));
    }

    [Theory]
    [InlineData("""{ "DB_PASSWORD": "" }""", "secrets.DB_PASSWORD")]
    [InlineData("""{ "DB_PASSWORD": 42 }""", "secrets.DB_PASSWORD")]
    [InlineData("""{ "1BAD": "x" }""", "not a valid variable name")]
    [InlineData("""{ "VC_TOKEN": "x" }""", "reserved")]
    [InlineData("""{ "MODE": "x" }""", "also in env")]
    [InlineData("""[ "x" ]""", "secrets")]
    public void Bad_secrets_are_refused_with_the_field_and_never_the_value(string secrets, string expected)
    {
        var spec = Spec("db", replicas: 1, extra: $$""", "env": { "MODE": "prod" }, "secrets": {{secrets}}""");
        var parsed = ServiceSpecParser.Parse(spec);
        Assert.False(parsed.Succeeded);
        var text = string.Join("\n", parsed.Errors.Select(e => $"{e.Field}: {e.Message}"));
        Assert.Contains(expected, text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"x\"", text.Replace("like \"x\"", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }
}
