using System.Diagnostics;
using System.Net;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.Cli.Http;

namespace VirtualCluster.Cli.Tests;

/// <summary>
/// Several control planes in --server, on real sockets: a closed port, a follower answering 503 while nobody leads,
/// a connection that breaks after the request arrived, and a leader that answers.
/// </summary>
public sealed class ServerFailoverTests : IDisposable
{
    private const string NoLeader = "no control plane leads right now (an election is under way); retry in a moment";
    private static readonly RetryLimits Fast = new(TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(200));

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Dictionary<string, string?> Environment() => new() { ["HOME"] = _dir.Path, ["VCLUSTER_TOKEN"] = Cli.Token };

    private Task<CliResult> Run(RetryLimits retry, params string[] args) => Cli.RunAsync(null, Environment(), retry, args);

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, VirtualClusterJson.Options);

    private static Reply Busy(string request) => new(503, Json(new ApiError(NoLeader)), "1");

    private static ServiceView Service(InstanceState state) =>
        TestData.Service("hello", 1, TestData.Instance("hello-aaaa1111", "hello", "node-1", state, "", "http://10.0.0.5:20001"));

    /// <summary>A leader: 201 for a deploy, 200 with the service or an empty list for reads, 204 for the rest.</summary>
    private static Reply Leader(string request) => request switch
    {
        "POST /v1/services" => new(201, Json(Service(InstanceState.Pending))),
        "GET /v1/services/hello" => new(200, Json(Service(InstanceState.Running))),
        _ when request.StartsWith("GET ", StringComparison.Ordinal) => new(200, "[]"),
        "POST /v1/nodes/node-2/drain" => new(200, Json(new DrainStatus("node-2", true, []))),
        _ => new(204),
    };

    [Fact]
    public async Task A_read_moves_past_a_closed_port_and_a_leaderless_follower_to_the_leader()
    {
        var closed = LocalHttpServer.ClosedUrl();
        await using var follower = new LocalHttpServer(Busy);
        await using var leader = new LocalHttpServer(Leader);

        var result = await Run(Fast, "nodes", "--server", $"{closed},{follower.Url},{leader.Url}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"control plane {closed} unreachable, trying {follower.Url}", result.Err);
        Assert.Contains($"control plane {follower.Url} has no leader (503), trying {leader.Url}", result.Err);
        Assert.Equal(["GET /v1/nodes"], follower.Requests);
        Assert.Equal(["GET /v1/nodes"], leader.Requests);
    }

    [Fact]
    public async Task While_nobody_leads_the_list_is_tried_again_until_a_leader_answers()
    {
        var calls = 0;
        await using var server = new LocalHttpServer(request => Interlocked.Increment(ref calls) <= 2 ? Busy(request) : Leader(request));

        var result = await Run(Fast, "nodes", "--server", server.Url);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("no control plane leads right now; retrying for up to 3s", result.Err);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task Retrying_honours_Retry_After_and_stops_after_the_budget_naming_every_server()
    {
        var closed = LocalHttpServer.ClosedUrl();
        await using var follower = new LocalHttpServer(Busy);
        var limits = new RetryLimits(TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(3));
        var clock = Stopwatch.StartNew();

        var result = await Run(limits, "status", "--server", $"{closed},{follower.Url}");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("no control plane could serve GET /v1/status within", result.Err);
        Assert.Contains($"\n  {closed}: Connection refused", result.Err);
        Assert.Contains($"\n  {follower.Url}: answered 503: {NoLeader}", result.Err);
        // Retry-After: 1 within a 2.5 s budget: rounds at about 0, 1 and 2 s, never a busy loop.
        Assert.InRange(follower.Requests.Count, 2, 3);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task When_none_can_be_reached_the_error_names_each_and_exits_3()
    {
        var first = LocalHttpServer.ClosedUrl();
        var second = LocalHttpServer.ClosedUrl();

        var result = await Run(Fast, "services", "--server", $"{first},{second}");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("cannot reach any of the 2 control planes for GET /v1/services:", result.Err);
        Assert.Contains($"\n  {first}: Connection refused", result.Err);
        Assert.Contains($"\n  {second}: Connection refused", result.Err);
        Assert.DoesNotContain("retrying", result.Err);
    }

    [Fact]
    public async Task A_read_is_sent_again_when_the_connection_broke_after_the_request_arrived()
    {
        await using var broken = new LocalHttpServer(_ => Reply.Drop);
        await using var leader = new LocalHttpServer(Leader);

        var result = await Run(Fast, "nodes", "--server", $"{broken.Url},{leader.Url}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"control plane {broken.Url} failed (", result.Err);
        Assert.All(broken.Requests, r => Assert.Equal("GET /v1/nodes", r));
        Assert.Equal(["GET /v1/nodes"], leader.Requests);
    }

    [Theory]
    [InlineData("deploy", "SPEC", "--no-wait")]
    [InlineData("rm", "hello")]
    [InlineData("drain", "node-2", "--no-wait")]
    [InlineData("drain", "node-2", "--cancel")]
    public async Task A_change_is_never_sent_again_after_a_server_may_have_received_it(params string[] args)
    {
        await using var broken = new LocalHttpServer(_ => Reply.Drop);
        await using var leader = new LocalHttpServer(Leader);

        var result = await Run(Fast, [.. WithSpec(args), "--server", $"{broken.Url},{leader.Url}"]);

        Assert.Equal(3, result.ExitCode);
        Assert.Contains($"the control plane at {broken.Url} failed during", result.Err);
        Assert.Contains("did not send it again", result.Err);
        // SocketsHttpHandler itself repeats a request, on the same server, whose connection closed before any answer
        // (up to 3 times); vcluster cannot turn that off, but it never carries the request to another server.
        Assert.NotEmpty(broken.Requests);
        Assert.Single(broken.Requests.Distinct());
        Assert.Empty(leader.Requests);
    }

    [Fact]
    public async Task A_change_is_not_sent_again_when_the_server_died_after_receiving_it()
    {
        // Like a leader killed while answering: the request arrived, then the connection broke and the port closed.
        LocalHttpServer? dying = null;
        dying = new LocalHttpServer(_ =>
        {
            dying!.StopListening();
            return Reply.Drop;
        });
        await using var _ = dying;
        await using var leader = new LocalHttpServer(Leader);

        var result = await Run(Fast, "deploy", Spec(), "--no-wait", "--server", $"{dying.Url},{leader.Url}");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("did not send it again", result.Err);
        Assert.Equal(["POST /v1/services"], dying.Requests);
        Assert.Empty(leader.Requests);
    }

    [Theory]
    [InlineData("deploy", "SPEC", "--no-wait")]
    [InlineData("rm", "hello")]
    [InlineData("drain", "node-2", "--no-wait")]
    [InlineData("drain", "node-2", "--cancel")]
    public async Task A_change_moves_on_after_a_refused_connection_or_a_503(params string[] args)
    {
        var closed = LocalHttpServer.ClosedUrl();
        await using var follower = new LocalHttpServer(Busy);
        await using var leader = new LocalHttpServer(Leader);

        var result = await Run(Fast, [.. WithSpec(args), "--server", $"{closed},{follower.Url},{leader.Url}"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var request = Assert.Single(follower.Requests);
        Assert.Equal([request], leader.Requests);
    }

    [Fact]
    public async Task Later_requests_of_a_command_start_with_the_server_that_answered()
    {
        await using var follower = new LocalHttpServer(Busy);
        await using var leader = new LocalHttpServer(Leader);

        var result = await Run(Fast, "deploy", Spec(), "--server", $"{follower.Url},{leader.Url}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["POST /v1/services"], follower.Requests);
        Assert.Equal(["POST /v1/services", "GET /v1/services/hello"], leader.Requests.Where(r => !r.Contains("/v1/events", StringComparison.Ordinal)));
    }

    public static TheoryData<string, bool> Failures => new()
    {
        { "connect timeout", true },
        { "name resolution", true },
        { "response ended", false },
        { "connection reset", false },
    };

    /// <summary>Failures real sockets cannot produce on demand here, thrown by a handler: which of them mean "not sent".</summary>
    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Only_failures_before_sending_let_a_deploy_move_on(string failure, bool movesOn)
    {
        var sent = new List<string>();
        var handler = new DelegateHandler(request =>
        {
            lock (sent) sent.Add(request.RequestUri!.Host);
            if (request.RequestUri.Host == "b.test") return new HttpResponseMessage(HttpStatusCode.Created) { Content = new StringContent(Json(Service(InstanceState.Pending))) };
            throw failure switch
            {
                "connect timeout" => new TaskCanceledException("connect", new TimeoutException("The connection attempt timed out.")),
                "name resolution" => new HttpRequestException(HttpRequestError.NameResolutionError, "Name or service not known (a.test:7070)"),
                "response ended" => new HttpRequestException(HttpRequestError.ResponseEnded, "The response ended prematurely."),
                _ => new HttpRequestException("An error occurred while sending the request.", new IOException("Connection reset by peer")),
            };
        });

        var result = await Cli.RunAsync(handler, Environment(), Fast, "deploy", Spec(), "--no-wait", "--server", "http://a.test:7070,http://b.test:7070");

        Assert.Equal(movesOn ? 0 : 3, result.ExitCode);
        Assert.Equal(movesOn ? ["a.test", "b.test"] : ["a.test"], sent);
    }

    [Fact]
    public void Retry_After_is_kept_within_bounds()
    {
        var limits = new RetryLimits(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(3));

        Assert.Equal(TimeSpan.FromSeconds(1), limits.Delay(null));
        Assert.Equal(TimeSpan.FromSeconds(2), limits.Delay(TimeSpan.FromSeconds(2)));
        Assert.Equal(TimeSpan.FromSeconds(3), limits.Delay(TimeSpan.FromSeconds(120)));
        Assert.Equal(TimeSpan.FromMilliseconds(100), limits.Delay(TimeSpan.Zero));
        Assert.Equal(TimeSpan.FromMilliseconds(100), limits.Delay(TimeSpan.FromSeconds(-5)));
    }

    private string Spec() => _dir.File("hello.json", """{ "name": "hello", "driver": "process", "command": "dotnet", "replicas": 1 }""");

    private string[] WithSpec(string[] args) => args.Select(a => a == "SPEC" ? Spec() : a).ToArray();

    private sealed class DelegateHandler(Func<HttpRequestMessage, HttpResponseMessage> respond) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(respond(request));
    }
}
