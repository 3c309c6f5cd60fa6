using System.Net;
using System.Net.Sockets;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Tests;

public sealed class ErrorTests
{
    private readonly FakeControlPlaneHandler _handler = new();

    [Theory]
    [InlineData(HttpStatusCode.Unauthorized, 401)]
    [InlineData(HttpStatusCode.Forbidden, 403)]
    public async Task RejectedToken_Exits1AndPointsAtTheToken(HttpStatusCode status, int code)
    {
        _handler.Respond(HttpMethod.Get, "/v1/status", status, new ApiError("token expired"));

        var result = await Cli.RunAsync(_handler, "status");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"the server rejected the token ({code}): token expired; check --token / VCLUSTER_TOKEN", result.Err);
    }

    [Fact]
    public async Task ConnectionRefused_Exits3WithAHint()
    {
        // A port that was just free and is now closed: connecting is refused.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var home = new TempDirectory();

        var result = await Cli.RunAsync(null, Cli.Environment(home), "nodes", "--server", $"http://127.0.0.1:{port}");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains($"cannot reach the control plane at http://127.0.0.1:{port}", result.Err);
        Assert.Contains("is it running?", result.Err);
        Assert.DoesNotContain("   at ", result.Err);
    }

    [Theory]
    [InlineData("<html>oops</html>")]
    [InlineData("{\"nodes\": null, \"services\": []}")]
    [InlineData("{\"nodes\": [{\"node\": {\"name\": \"x\"}}], \"services\": []}")]
    [InlineData("")]
    public async Task MalformedResponse_Exits1Readably(string body)
    {
        _handler.Respond(HttpMethod.Get, "/v1/status", HttpStatusCode.OK, body);

        var result = await Cli.RunAsync(_handler, "status");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("sent an unreadable answer to GET /v1/status", result.Err);
        Assert.DoesNotContain("   at ", result.Err);
    }

    [Fact]
    public async Task ErrorStatusWithoutApiErrorBody_ShowsTheStatus()
    {
        _handler.Respond(HttpMethod.Get, "/v1/nodes", HttpStatusCode.BadGateway, "<html>bad gateway</html>");

        var result = await Cli.RunAsync(_handler, "nodes");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("the control plane answered 502 Bad Gateway", result.Err);
        Assert.Contains("bad gateway", result.Err);
    }

    [Theory]
    [InlineData("status", "--output", "xml")]
    [InlineData("status", "--bogus")]
    [InlineData("deploy")]
    [InlineData("deploy", "x.json", "--timeout", "soon")]
    [InlineData("deploy", "x.json", "--timeout", "-5s")]
    [InlineData("deploy", "x.json", "--wait", "--no-wait")]
    [InlineData("logs", "hello", "--tail", "0")]
    [InlineData("logs", "hello", "--tail", "many")]
    [InlineData("frobnicate")]
    [InlineData]
    public async Task UsageErrors_Exit2WithoutCallingTheServer(params string[] args)
    {
        var result = await Cli.RunAsync(_handler, args);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: ", result.Err);
        Assert.Contains("--help", result.Err);
        Assert.Empty(_handler.Requests);
    }

    [Fact]
    public async Task Help_Exits0()
    {
        var result = await Cli.RunAsync(_handler, "deploy", "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--timeout", result.Out);
        Assert.Contains("--server", result.Out);
    }

    [Theory]
    [InlineData("localhost:7070")]
    [InlineData("ftp://cp.test")]
    [InlineData("not a url")]
    [InlineData("http://cp.test:7070/?x=1")]
    public async Task BadServerUrl_Exits2(string server)
    {
        var result = await Cli.RunAsync(_handler, "status", "--server", server);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("invalid server URL", result.Err);
        Assert.Empty(_handler.Requests);
    }

    [Fact]
    public async Task MissingToken_Exits2AndSaysHowToProvideIt()
    {
        using var home = new TempDirectory();
        var environment = new Dictionary<string, string?> { ["HOME"] = home.Path, ["VCLUSTER_TOKEN"] = "" };

        var result = await Cli.RunAsync(_handler, environment, "status");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--token", result.Err);
        Assert.Contains("VCLUSTER_TOKEN", result.Err);
        Assert.Contains(Path.Combine(home.Path, ".vcluster", "config.json"), result.Err);
        Assert.Empty(_handler.Requests);
    }
}
