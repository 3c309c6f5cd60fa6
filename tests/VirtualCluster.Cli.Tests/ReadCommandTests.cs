using System.Net;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.Runtime;

namespace VirtualCluster.Cli.Tests;

public sealed class ReadCommandTests
{
    private readonly FakeControlPlaneHandler _handler = new();

    private static ClusterStatus Status() => new(
        [TestData.Node("node-1"), TestData.Node("node-2", NodeState.Suspect, instances: 0)],
        [TestData.Service("hello", 2,
            TestData.Instance("hello-aaaa1111", "hello", "node-1", InstanceState.Running),
            TestData.Instance("hello-bbbb2222", "hello", "node-1", InstanceState.Restarting, "exited with code 1"))]);

    [Fact]
    public async Task Status_PrintsNodesAndServicesTables()
    {
        _handler.Respond(HttpMethod.Get, "/v1/status", HttpStatusCode.OK, Status());

        var result = await Cli.RunAsync(_handler, "status");

        Assert.True(result.ExitCode == 0, result.ToString());
        var request = Assert.Single(_handler.Requests);
        Assert.Equal("/v1/status", request.PathAndQuery);
        Assert.Equal($"Bearer {Cli.Token}", request.Authorization);
        foreach (var cell in new[] { "node-1", "node-2", "alive", "suspect", "10.0.0.5", "4 cores", "1.5 cores", "800m", "8 GiB", "3 GiB", "2 GiB" })
            Assert.Contains(cell, result.Out);
        foreach (var cell in new[] { "hello", "process", "hello-aaaa1111 on node-1 (running)", "hello-bbbb2222 on node-1 (restarting: exited with code 1)" })
            Assert.Contains(cell, result.Out);
        Assert.DoesNotContain("\u001b[", result.Out); // no ANSI codes when captured
    }

    [Fact]
    public async Task StatusJson_ParsesBackToClusterStatus()
    {
        var status = Status();
        _handler.Respond(HttpMethod.Get, "/v1/status", HttpStatusCode.OK, status);

        var result = await Cli.RunAsync(_handler, "status", "--output", "json");

        Assert.Equal(0, result.ExitCode);
        var parsed = JsonSerializer.Deserialize<ClusterStatus>(result.Out, VirtualClusterJson.Options)!;
        Assert.Equal(["node-1", "node-2"], parsed.Nodes.Select(n => n.Node.Name));
        Assert.Equal(status.Nodes[0].Allocated, parsed.Nodes[0].Allocated);
        Assert.Equal(InstanceState.Restarting, parsed.Services[0].Instances[1].Instance.State);
        Assert.Contains("\n  ", result.Out); // indented
    }

    [Fact]
    public async Task StatusOnEmptyCluster_SaysSo()
    {
        _handler.Respond(HttpMethod.Get, "/v1/status", HttpStatusCode.OK, new ClusterStatus([], []));

        var result = await Cli.RunAsync(_handler, "status");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("no nodes have joined", result.Out);
        Assert.Contains("no services deployed", result.Out);
    }

    [Fact]
    public async Task Nodes_TableAndJson()
    {
        _handler.Respond(HttpMethod.Get, "/v1/nodes", HttpStatusCode.OK, new[] { TestData.Node("node-1") });

        var table = await Cli.RunAsync(_handler, "nodes");
        var json = await Cli.RunAsync(_handler, "nodes", "-o", "json");

        Assert.Equal(0, table.ExitCode);
        Assert.Contains("node-1", table.Out);
        Assert.Contains("MEM ALLOC", table.Out);
        Assert.Equal(0, json.ExitCode);
        var nodes = JsonSerializer.Deserialize<NodeView[]>(json.Out, VirtualClusterJson.Options)!;
        Assert.Equal("node-1", Assert.Single(nodes).Node.Name);
    }

    [Fact]
    public async Task Services_TableAndJson()
    {
        _handler.Respond(HttpMethod.Get, "/v1/services", HttpStatusCode.OK, Status().Services);

        var table = await Cli.RunAsync(_handler, "services");
        var json = await Cli.RunAsync(_handler, "services", "--output=json");

        Assert.Equal(0, table.ExitCode);
        Assert.Contains("DESIRED", table.Out);
        Assert.Contains("hello-bbbb2222 on node-1", table.Out);
        var services = JsonSerializer.Deserialize<ServiceView[]>(json.Out, VirtualClusterJson.Options)!;
        Assert.Equal("hello", Assert.Single(services).Spec.Name);
    }

    [Fact]
    public async Task ServiceNamesWithMarkupCharacters_ArePrintedLiterally()
    {
        _handler.Respond(HttpMethod.Get, "/v1/services", HttpStatusCode.OK,
            new[] { TestData.Service("[red]x[/]", 1, TestData.Instance("i-[bold]", "[red]x[/]", "n[1]", InstanceState.Pending)) });

        var result = await Cli.RunAsync(_handler, "services");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("[red]x[/]", result.Out);
        Assert.Contains("i-[bold] on n[1]", result.Out);
    }

    [Fact]
    public async Task Rm_SendsDelete()
    {
        _handler.Respond(HttpMethod.Delete, "/v1/services/hello", HttpStatusCode.NoContent);

        var result = await Cli.RunAsync(_handler, "rm", "hello");

        Assert.Equal(0, result.ExitCode);
        var request = Assert.Single(_handler.Requests);
        Assert.Equal(HttpMethod.Delete, request.Method);
        Assert.Equal($"Bearer {Cli.Token}", request.Authorization);
        Assert.Contains("removed service \"hello\"", result.Out);
    }

    [Fact]
    public async Task RmUnknownService_Exits1WithTheServersMessage()
    {
        _handler.Respond(HttpMethod.Delete, "/v1/services/ghost", HttpStatusCode.NotFound, new ApiError("no service named \"ghost\""));

        var result = await Cli.RunAsync(_handler, "rm", "ghost");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no service named \"ghost\"", result.Err);
    }

    [Fact]
    public async Task Logs_PrefixesLinesWithTheInstanceAndMarksStderr()
    {
        var at = DateTimeOffset.UnixEpoch;
        _handler.Respond(HttpMethod.Get, "/v1/services/hello/logs?tail=5", HttpStatusCode.OK, new LogsResponse(
        [
            new InstanceLogLine("hello-aaaa1111", new LogLine(1, at, "stdout", "listening on 20001")),
            new InstanceLogLine("hello-bbbb2222", new LogLine(1, at, "stderr", "warning: low memory")),
        ]));

        var result = await Cli.RunAsync(_handler, "logs", "hello", "--tail", "5");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("GET", Assert.Single(_handler.Requests).Method.Method);
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
        Assert.Equal(["hello-aaaa1111 out| listening on 20001", "hello-bbbb2222 err| warning: low memory"], lines);
    }

    [Fact]
    public async Task Logs_DefaultTailIs100()
    {
        _handler.Respond(HttpMethod.Get, "/v1/services/hello/logs?tail=100", HttpStatusCode.OK, new LogsResponse([]));

        var result = await Cli.RunAsync(_handler, "logs", "hello");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("/v1/services/hello/logs?tail=100", Assert.Single(_handler.Requests).PathAndQuery);
        Assert.Equal("", result.Out);
    }
}
