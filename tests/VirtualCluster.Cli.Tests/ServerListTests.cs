using System.Net;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Tests;

/// <summary>Several control-plane URLs in --server, VCLUSTER_SERVER and the config file's "server".</summary>
public sealed class ServerListTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeControlPlaneHandler _handler = new();

    public ServerListTests() => _handler.Respond(HttpMethod.Get, "/v1/nodes", HttpStatusCode.OK, Array.Empty<NodeView>());

    public void Dispose() => _dir.Dispose();

    private static string[] Displays(string text) => ServerList.Parse(text, "--server").Select(s => s.Display).ToArray();

    [Fact]
    public void One_url_is_a_list_of_one_with_a_trailing_slash_added()
    {
        var server = Assert.Single(ServerList.Parse("http://cp.test:7070", "--server"));

        Assert.Equal(new Uri("http://cp.test:7070/"), server.Address);
        Assert.Equal("http://cp.test:7070", server.Display);
    }

    [Fact]
    public void Urls_are_split_on_commas_trimmed_and_kept_in_order_with_their_path()
    {
        var servers = ServerList.Parse(" http://b.test:7070 ,https://a.test/cluster/", "--server");

        Assert.Equal([new Uri("http://b.test:7070/"), new Uri("https://a.test/cluster/")], servers.Select(s => s.Address));
        Assert.Equal(["http://b.test:7070", "https://a.test/cluster"], servers.Select(s => s.Display));
    }

    [Theory]
    [InlineData("http://a.test:1,,http://b.test:2")]
    [InlineData("http://a.test:1, ,http://b.test:2,")]
    [InlineData(",http://a.test:1,http://b.test:2")]
    public void Empty_entries_are_skipped(string text) =>
        Assert.Equal(["http://a.test:1", "http://b.test:2"], Displays(text));

    [Fact]
    public void Duplicates_keep_their_first_place()
    {
        Assert.Equal(["http://a.test:1", "http://b.test:2"], Displays("http://a.test:1,http://b.test:2,HTTP://A.test:1/"));
    }

    [Theory]
    [InlineData(",")]
    [InlineData(" , ,")]
    public void A_list_without_any_url_is_bad_input(string text)
    {
        var error = Assert.Throws<CliException>(() => ServerList.Parse(text, "VCLUSTER_SERVER"));

        Assert.Equal(ExitCodes.BadInput, error.ExitCode);
        Assert.StartsWith("no server URL in VCLUSTER_SERVER", error.Message);
    }

    [Fact]
    public void A_bad_url_in_the_middle_is_named_with_its_place()
    {
        var error = Assert.Throws<CliException>(() => ServerList.Parse("http://a.test:1,cp.test:7070,http://b.test:2", "--server"));

        Assert.Equal(ExitCodes.BadInput, error.ExitCode);
        Assert.StartsWith("invalid server URL 'cp.test:7070' in --server (entry 2 of 3): use an http:// or https:// URL", error.Message);
    }

    [Fact]
    public async Task A_bad_url_in_the_flag_exits_2_before_anything_is_sent()
    {
        var result = await Cli.RunAsync(_handler, "nodes", "--server", "http://a.test:1,ftp://b.test,http://c.test:3");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("invalid server URL 'ftp://b.test' in --server (entry 2 of 3)", result.Err);
        Assert.Empty(_handler.Requests);
    }

    [Fact]
    public async Task The_variable_takes_a_list_and_the_first_server_is_asked_first()
    {
        var environment = new Dictionary<string, string?>
        {
            ["HOME"] = _dir.Path,
            ["VCLUSTER_TOKEN"] = Cli.Token,
            ["VCLUSTER_SERVER"] = "http://first.test:7070, http://second.test:7070",
        };

        var result = await Cli.RunAsync(_handler, environment, "nodes");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(new Uri("http://first.test:7070/v1/nodes"), Assert.Single(_handler.Requests).Uri);
    }

    [Fact]
    public async Task The_config_file_takes_a_comma_separated_server()
    {
        var environment = new Dictionary<string, string?>
        {
            ["HOME"] = _dir.Path,
            ["VCLUSTER_CONFIG"] = _dir.File("config.json", """{ "server": "http://first.test:7070,http://second.test:7070", "token": "t" }"""),
        };

        var result = await Cli.RunAsync(_handler, environment, "nodes");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(new Uri("http://first.test:7070/v1/nodes"), Assert.Single(_handler.Requests).Uri);
    }

    [Theory]
    [InlineData("""{ "server": ["http://a.test:1", "http://b.test:2"], "token": "t" }""", "\"server\" must be a string")]
    [InlineData("""{ "servers": ["http://a.test:1"], "token": "t" }""", "has \"servers\"; list the control planes in \"server\"")]
    [InlineData("""{ "server": "http://a.test:1,nope", "token": "t" }""", "invalid server URL 'nope' in \"server\" in ")]
    public async Task Config_file_mistakes_are_bad_input(string configJson, string expected)
    {
        var environment = new Dictionary<string, string?> { ["HOME"] = _dir.Path, ["VCLUSTER_CONFIG"] = _dir.File("config.json", configJson) };

        var result = await Cli.RunAsync(_handler, environment, "nodes");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Err);
        Assert.Empty(_handler.Requests);
    }
}
