using System.Net;
using VirtualCluster.Agent.Connection;

namespace VirtualCluster.Agent.Tests.Connection;

public sealed class ControlPlaneFailoverHandlerTests
{
    /// <summary>Answers per host: a status, or a connection failure for null.</summary>
    private sealed class Hosts(Dictionary<string, HttpStatusCode?> answers) : HttpMessageHandler
    {
        public List<string> Seen { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
            Seen.Add($"{request.Method} {request.RequestUri} {body}");
            var status = answers[request.RequestUri!.Authority] ?? throw new HttpRequestException("Connection refused");
            return new HttpResponseMessage(status) { Content = new StringContent(request.RequestUri.Authority) };
        }
    }

    private static (HttpClient Client, Hosts Hosts) Client(Dictionary<string, HttpStatusCode?> answers, string urls)
    {
        var hosts = new Hosts(answers);
        var handler = new ControlPlaneFailoverHandler(ControlPlaneFailoverHandler.Split(urls).Select(u => new Uri(u))) { InnerHandler = hosts };
        return (new HttpClient(handler) { BaseAddress = new Uri(ControlPlaneFailoverHandler.Split(urls)[0] + "/") }, hosts);
    }

    [Fact]
    public async Task Moves_past_unreachable_and_leaderless_control_planes_resending_the_body_and_stays_with_the_one_that_answered()
    {
        var answers = new Dictionary<string, HttpStatusCode?> { ["a:1"] = null, ["b:2"] = HttpStatusCode.ServiceUnavailable, ["c:3"] = HttpStatusCode.OK };
        var (client, hosts) = Client(answers, "http://a:1, http://b:2,http://c:3");

        using var first = await client.PostAsync("v1/nodes/n1/heartbeat", new StringContent("{\"x\":1}"));
        Assert.Equal("c:3", await first.Content.ReadAsStringAsync());
        Assert.Equal(["POST http://a:1/v1/nodes/n1/heartbeat {\"x\":1}", "POST http://b:2/v1/nodes/n1/heartbeat {\"x\":1}", "POST http://c:3/v1/nodes/n1/heartbeat {\"x\":1}"], hosts.Seen);

        hosts.Seen.Clear();
        using var second = await client.GetAsync("v1/status?x=1");
        Assert.Equal(["GET http://c:3/v1/status?x=1 "], hosts.Seen);
    }

    [Fact]
    public async Task When_every_control_plane_fails_the_last_answer_or_error_is_returned()
    {
        var (client, _) = Client(new() { ["a:1"] = null, ["b:2"] = HttpStatusCode.ServiceUnavailable }, "http://a:1,http://b:2");
        using var response = await client.GetAsync("v1/status");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);

        var (down, _) = Client(new() { ["a:1"] = null, ["b:2"] = null }, "http://a:1,http://b:2");
        await Assert.ThrowsAsync<HttpRequestException>(() => down.GetAsync("v1/status"));
    }

    [Fact]
    public void Agent_options_accept_a_list_of_control_plane_urls_and_name_a_bad_one()
    {
        var validator = new AgentOptionsValidator();
        var good = new AgentOptions { ServerUrl = "http://a:1,http://b:2", DataDirectory = "/tmp/x" };
        Assert.True(validator.Validate(null, good).Succeeded);
        var bad = new AgentOptions { ServerUrl = "http://a:1,nope", DataDirectory = "/tmp/x" };
        Assert.Contains("nope", validator.Validate(null, bad).FailureMessage);
    }
}
