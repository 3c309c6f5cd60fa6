using System.Net;
using VirtualCluster.Api;
using VirtualCluster.Scheduling;

namespace VirtualCluster.Cli.Tests;

public sealed class DeployTests : IDisposable
{
    private const string SpecJson = """{ "name": "hello", "driver": "process", "command": "dotnet", "replicas": 2 }""";

    private readonly TempDirectory _dir = new();
    private readonly FakeControlPlaneHandler _handler = new();

    public void Dispose() => _dir.Dispose();

    private Task<CliResult> Run(params string[] args) => Cli.RunAsync(_handler, Cli.Environment(_dir), args);

    private static ServiceView Pending() => TestData.Service("hello", 2,
        TestData.Instance("hello-aaaa1111", "hello", "node-1", InstanceState.Pending),
        TestData.Instance("hello-bbbb2222", "hello", "node-2", InstanceState.Pending));

    private static ServiceView HalfRunning() => TestData.Service("hello", 2,
        TestData.Instance("hello-aaaa1111", "hello", "node-1", InstanceState.Running, "", "http://10.0.0.5:20001"),
        TestData.Instance("hello-bbbb2222", "hello", "node-2", InstanceState.Starting, "waiting for health check"));

    private static ServiceView AllRunning() => TestData.Service("hello", 2,
        TestData.Instance("hello-aaaa1111", "hello", "node-1", InstanceState.Running, "", "http://10.0.0.5:20001"),
        TestData.Instance("hello-bbbb2222", "hello", "node-2", InstanceState.Running, "", "http://10.0.0.6:20002"));

    [Fact]
    public async Task NoWait_PostsTheFileAsIsWithTheToken()
    {
        var file = _dir.File("hello.json", SpecJson);
        _handler.Respond(HttpMethod.Post, "/v1/services", HttpStatusCode.Created, Pending());

        var result = await Run("deploy", file, "--no-wait");

        Assert.Equal(0, result.ExitCode);
        var request = Assert.Single(_handler.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("/v1/services", request.PathAndQuery);
        Assert.Equal($"Bearer {Cli.Token}", request.Authorization);
        Assert.Equal("application/json", request.ContentType);
        Assert.Equal(SpecJson, request.Body);
        Assert.Contains("created service \"hello\"", result.Out);
    }

    [Fact]
    public async Task Wait_PollsUntilAllInstancesRunThenPrintsWhereToReachThem()
    {
        var file = _dir.File("hello.json", SpecJson);
        _handler.Respond(HttpMethod.Post, "/v1/services", HttpStatusCode.Created, Pending())
            .Respond(HttpMethod.Get, "/v1/services/hello", HttpStatusCode.OK, HalfRunning())
            .Respond(HttpMethod.Get, "/v1/services/hello", HttpStatusCode.OK, AllRunning());

        var result = await Run("deploy", file);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("0/2 running (2 pending)", result.Out);
        Assert.Contains("1/2 running (1 starting)", result.Out);
        Assert.Contains("service \"hello\" is running: 2/2", result.Out);
        Assert.Contains("hello-aaaa1111", result.Out);
        Assert.Contains("node-2", result.Out);
        Assert.Contains("http://10.0.0.6:20002", result.Out);
        // The event log is asked too (for failures the control plane already replaced); this fake has none (404).
        Assert.Equal(["POST /v1/services", "GET /v1/services/hello", "GET /v1/services/hello"],
            _handler.Requests.Where(r => !r.PathAndQuery.StartsWith("/v1/events", StringComparison.Ordinal)).Select(r => $"{r.Method} {r.PathAndQuery}"));
        Assert.All(_handler.Requests, r => Assert.Equal($"Bearer {Cli.Token}", r.Authorization));
    }

    [Fact]
    public async Task IdenticalSpecAlreadyRunning_SaysSoWithoutPolling()
    {
        var file = _dir.File("hello.json", SpecJson);
        _handler.Respond(HttpMethod.Post, "/v1/services", HttpStatusCode.OK, AllRunning());

        var result = await Run("deploy", file, "--wait");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("already deployed", result.Out);
        Assert.Single(_handler.Requests);
    }

    [Fact]
    public async Task FailedInstance_PrintsItsReasonAndExits1()
    {
        var file = _dir.File("hello.json", SpecJson);
        _handler.Respond(HttpMethod.Post, "/v1/services", HttpStatusCode.Created, Pending())
            .Respond(HttpMethod.Get, "/v1/services/hello", HttpStatusCode.OK, TestData.Service("hello", 2,
                TestData.Instance("hello-aaaa1111", "hello", "node-1", InstanceState.Running),
                TestData.Instance("hello-bbbb2222", "hello", "node-2", InstanceState.Failed, "executable 'dotnet' not found")));

        var result = await Run("deploy", file);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("hello-bbbb2222", result.Err);
        Assert.Contains("executable 'dotnet' not found", result.Err);
    }

    [Fact]
    public async Task AFailureTheControlPlaneAlreadyReplaced_IsFoundInTheEventLog()
    {
        var file = _dir.File("hello.json", SpecJson);
        var events = $"/v1/events?after=0&limit=500&service=hello&kind={EventKinds.InstanceFailed}";
        var failed = new ClusterEvent(7, DateTimeOffset.UnixEpoch, EventKinds.InstanceFailed, "hello",
            "hello-bbbb2222 on node-2 is failed: image app:1 not found locally and could not be pulled", "hello", "node-2", "hello-bbbb2222");
        // Between two polls hello-bbbb2222 failed and was replaced by hello-cccc3333: no view shows it Failed.
        _handler.Respond(HttpMethod.Post, "/v1/services", HttpStatusCode.Created, Pending())
            .Respond(HttpMethod.Get, events, HttpStatusCode.OK, Array.Empty<ClusterEvent>())
            .Respond(HttpMethod.Get, "/v1/services/hello", HttpStatusCode.OK, TestData.Service("hello", 2,
                TestData.Instance("hello-aaaa1111", "hello", "node-1", InstanceState.Running),
                TestData.Instance("hello-cccc3333", "hello", "node-2", InstanceState.Pending)))
            .Respond(HttpMethod.Get, events, HttpStatusCode.OK, new[] { failed });

        var result = await Run("deploy", file);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("image app:1 not found locally and could not be pulled", result.Err);
        Assert.Contains("vcluster events --service hello", result.Err);
    }

    [Fact]
    public async Task Timeout_Exits1AndSaysWhatIsStillPendingAndWhy()
    {
        var file = _dir.File("hello.json", SpecJson);
        _handler.Respond(HttpMethod.Post, "/v1/services", HttpStatusCode.Created, Pending())
            .Respond(HttpMethod.Get, "/v1/services/hello", HttpStatusCode.OK, HalfRunning());

        var result = await Run("deploy", file, "--timeout", "1200ms");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("timed out after 1.2s", result.Err);
        Assert.Contains("1/2 running", result.Err);
        Assert.Contains("hello-bbbb2222 on node-2: starting: waiting for health check", result.Err);
        Assert.DoesNotContain("hello-aaaa1111", result.Err);
    }

    [Fact]
    public async Task InvalidSpec_PrintsFieldErrorsAndExits2()
    {
        var file = _dir.File("hello.json", SpecJson);
        _handler.Respond(HttpMethod.Post, "/v1/services", HttpStatusCode.BadRequest, new ApiError(
            "the service spec is invalid",
            [new FieldError("replicas", "must be between 0 and 100"), new FieldError("ports[0].name", "must be a DNS label")]));

        var result = await Run("deploy", file);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("the service spec is invalid", result.Err);
        Assert.Contains("replicas: must be between 0 and 100", result.Err);
        Assert.Contains("ports[0].name: must be a DNS label", result.Err);
    }

    [Fact]
    public async Task Conflict_Exits1WithTheServersMessage()
    {
        var file = _dir.File("hello.json", SpecJson);
        _handler.Respond(HttpMethod.Post, "/v1/services", HttpStatusCode.Conflict,
            new ApiError("a different spec named \"hello\" is deployed; remove it first with `vcluster rm hello`"));

        var result = await Run("deploy", file);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("a different spec named \"hello\" is deployed", result.Err);
    }

    [Fact]
    public async Task DoesNotFit_PrintsTheMessageAndAShortfallTable()
    {
        var file = _dir.File("hello.json", SpecJson);
        const string message = "cannot place 2 instance(s) of \"big\": memory: needs 8 GiB, largest free 3.5 GiB on node-2; 3 of 3 nodes lack memory";
        _handler.Respond(HttpMethod.Post, "/v1/services", (HttpStatusCode)422, new ApiError(message, Placement:
            new PlacementFailure(message, 3, [new ResourceShortfall("memory", 8L << 30, 3584L << 20, "node-2", 3)])));

        var result = await Run("deploy", file);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(message, result.Err);
        Assert.Contains("NEEDED PER INSTANCE", result.Err);
        Assert.Contains("8 GiB", result.Err);
        Assert.Contains("3.5 GiB", result.Err);
        Assert.Contains("3 of 3", result.Err);
    }

    [Fact]
    public async Task MissingFile_Exits2WithoutCallingTheServer()
    {
        var result = await Run("deploy", Path.Combine(_dir.Path, "nope.json"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("does not exist", result.Err);
        Assert.Empty(_handler.Requests);
    }

    [Theory]
    [InlineData("{ \"name\": ", "not valid JSON")]
    [InlineData("[1, 2]", "must hold a JSON object")]
    public async Task MalformedFile_Exits2WithoutCallingTheServer(string content, string expected)
    {
        var file = _dir.File("bad.json", content);

        var result = await Run("deploy", file);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Err);
        Assert.Empty(_handler.Requests);
    }

    [Fact]
    public async Task FileOverOneMebibyte_Exits2()
    {
        var file = _dir.File("huge.json", "{\"name\":\"" + new string('x', 1024 * 1024) + "\"}");

        var result = await Run("deploy", file);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("limited to 1 MiB", result.Err);
        Assert.Empty(_handler.Requests);
    }
}
