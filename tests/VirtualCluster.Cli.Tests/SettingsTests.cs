using System.Net;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Tests;

/// <summary>Server and token come from the flag, else the environment, else the config file, else the default server.</summary>
public sealed class SettingsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeControlPlaneHandler _handler = new();

    public SettingsTests() => _handler.Respond(HttpMethod.Get, "/v1/nodes", HttpStatusCode.OK, Array.Empty<NodeView>());

    public void Dispose() => _dir.Dispose();

    private Dictionary<string, string?> Environment(string? server, string? token, string? configJson)
    {
        var environment = new Dictionary<string, string?> { ["HOME"] = _dir.Path };
        if (server is not null) environment["VCLUSTER_SERVER"] = server;
        if (token is not null) environment["VCLUSTER_TOKEN"] = token;
        if (configJson is not null) environment["VCLUSTER_CONFIG"] = _dir.File("config.json", configJson);
        return environment;
    }

    private async Task<FakeControlPlaneHandler.RecordedRequest> Request(Dictionary<string, string?> environment, params string[] args)
    {
        var result = await Cli.RunAsync(_handler, environment, ["nodes", .. args]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return _handler.Requests[^1];
    }

    private const string Config = """{ "server": "http://config.test:1", "token": "config-token" }""";

    [Fact]
    public async Task FlagBeatsEnvironmentBeatsConfig()
    {
        var environment = Environment("http://env.test:1", "env-token", Config);

        var request = await Request(environment, "--server", "http://flag.test:1", "--token", "flag-token");
        Assert.Equal("Bearer flag-token", request.Authorization);
        Assert.Equal("flag.test", request.Uri.Host);
    }

    [Fact]
    public async Task EnvironmentBeatsConfig()
    {
        var environment = Environment("http://env.test:1", "env-token", Config);

        var request = await Request(environment);
        Assert.Equal("Bearer env-token", request.Authorization);
        Assert.Equal("env.test", request.Uri.Host);
    }

    [Fact]
    public async Task ConfigFileIsUsedLast()
    {
        var environment = Environment(null, null, Config);

        var request = await Request(environment);
        Assert.Equal("Bearer config-token", request.Authorization);
        Assert.Equal("config.test", request.Uri.Host);
    }

    [Fact]
    public async Task DefaultConfigLocationIsUnderHome()
    {
        Directory.CreateDirectory(Path.Combine(_dir.Path, ".vcluster"));
        File.WriteAllText(Path.Combine(_dir.Path, ".vcluster", "config.json"), Config);
        var environment = Environment(null, null, null);

        var request = await Request(environment);

        Assert.Equal("Bearer config-token", request.Authorization);
    }

    [Fact]
    public async Task TokenFileIsReadRelativeToTheConfigAndTrimmed()
    {
        _dir.File("token.txt", "  secret-from-file\n");
        var environment = Environment(null, null, """{ "tokenFile": "token.txt" }""");

        var request = await Request(environment);
        Assert.Equal("Bearer secret-from-file", request.Authorization);
        Assert.Equal(new Uri("https://127.0.0.1:7070/v1/nodes"), request.Uri);
    }

    [Fact]
    public async Task ServerPathPrefixIsKept()
    {
        _handler.Respond(HttpMethod.Get, "/cluster/v1/nodes", HttpStatusCode.OK, Array.Empty<NodeView>());

        var request = await Request(Environment("http://cp.test:7070/cluster", "t", null));

        Assert.Equal(new Uri("http://cp.test:7070/cluster/v1/nodes"), request.Uri);
    }

    [Theory]
    [InlineData("{ not json", "is not valid")]
    [InlineData("""{ "tokenFile": "missing.txt" }""", "cannot read the token file")]
    public async Task BrokenConfig_Exits2(string configJson, string expected)
    {
        var result = await Cli.RunAsync(_handler, Environment("http://env.test:1", null, configJson), "nodes");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Err);
        Assert.Empty(_handler.Requests);
    }

    [Fact]
    public async Task ConfigNamedByVariableMustExist()
    {
        var environment = Environment(null, null, null);
        environment["VCLUSTER_CONFIG"] = Path.Combine(_dir.Path, "absent.json");

        var result = await Cli.RunAsync(_handler, environment, "nodes");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("absent.json", result.Err);
    }

    [Fact]
    public async Task BrokenConfigIsIgnoredWhenFlagsSayEverything()
    {
        var environment = Environment(null, null, "{ not json");

        var request = await Request(environment, "--server", "http://flag.test:1", "--token", "flag-token");

        Assert.Equal("Bearer flag-token", request.Authorization);
    }
}

/// <summary>The cluster CA to trust (--ca-cert, VCLUSTER_CA_CERT, "caCert"), and the warning for plain HTTP across a network.</summary>
public sealed class TlsSettingsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeControlPlaneHandler _handler = new();

    public TlsSettingsTests() => _handler.Respond(HttpMethod.Get, "/v1/nodes", HttpStatusCode.OK, Array.Empty<NodeView>());

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_caCert_in_the_config_is_read_relative_to_the_config_file()
    {
        using var ca = VirtualCluster.Security.Tls.ClusterCa.Create("cli-test", TimeProvider.System);
        Directory.CreateDirectory(Path.Combine(_dir.Path, "cp"));
        File.WriteAllText(Path.Combine(_dir.Path, "cp", "ca.crt"), ca.CertificatePem());
        var ok = await Cli.RunAsync(_handler, Env("""{ "server": "https://127.0.0.1:7070", "token": "t", "caCert": "cp/ca.crt" }"""), ["nodes"]);
        var refused = await Cli.RunAsync(_handler, Env("""{ "server": "https://127.0.0.1:7070", "token": "t", "caCert": "elsewhere/ca.crt" }"""), ["nodes"]);

        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains(Path.Combine(_dir.Path, "elsewhere", "ca.crt"), refused.Err);
        Assert.Contains("caCert", refused.Err);
    }

    [Fact]
    public async Task A_ca_cert_flag_that_is_not_a_certificate_is_refused_with_the_file_named()
    {
        var notPem = _dir.File("token.txt", "not a certificate");
        var result = await Cli.RunAsync(_handler, Env(null), ["nodes", "--server", "https://127.0.0.1:7070", "--token", "t", "--ca-cert", notPem]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(notPem, result.Err);
        Assert.Empty(_handler.Requests);
    }

    [Fact]
    public async Task Plain_HTTP_to_another_machine_warns_and_loopback_does_not()
    {
        var remote = await Cli.RunAsync(_handler, Env(null), ["nodes", "--server", "http://10.1.2.3:7070", "--token", "t"]);
        var local = await Cli.RunAsync(_handler, Env(null), ["nodes", "--server", "http://127.0.0.1:7070", "--token", "t"]);
        var secure = await Cli.RunAsync(_handler, Env(null), ["nodes", "--server", "https://10.1.2.3:7070", "--token", "t"]);

        Assert.Equal(0, remote.ExitCode);
        Assert.Contains("warning: http://10.1.2.3:7070 is plain HTTP", remote.Err);
        Assert.DoesNotContain("plain HTTP", local.Err);
        Assert.DoesNotContain("plain HTTP", secure.Err);
    }

    private Dictionary<string, string?> Env(string? configJson)
    {
        var environment = new Dictionary<string, string?> { ["HOME"] = _dir.Path };
        if (configJson is not null) environment["VCLUSTER_CONFIG"] = _dir.File("config.json", configJson);
        return environment;
    }
}
