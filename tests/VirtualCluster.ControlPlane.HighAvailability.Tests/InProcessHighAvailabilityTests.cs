using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;
using VirtualCluster.Membership;
using VirtualCluster.Membership.Election;
using VirtualCluster.Membership.Embedded;
using VirtualCluster.Membership.Members;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.HighAvailability.Tests;

/// <summary>
/// Two control planes in this process sharing one embedded store: election, forwarding, fencing and handover,
/// without real processes (fast, and independent of etcd).
/// </summary>
public sealed class InProcessHighAvailabilityTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vc-ha-inproc-").FullName;
    private SqliteKeyValueStore _store = null!;
    private readonly List<WebApplication> _apps = [];

    public Task InitializeAsync()
    {
        _store = new SqliteKeyValueStore(new EmbeddedMembershipOptions { Path = Path.Combine(_directory, "kv.db") });
        return Task.CompletedTask;
    }

    private async Task<(WebApplication App, string Url)> StartAsync(string name)
    {
        var url = $"http://127.0.0.1:{Wait.FreePort()}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IKeyValueStore>(_store);
        builder.Services.AddSingleton<ILeaderElection>(new KvLeaderElection(_store));
        builder.Services.AddSingleton<IMembership>(new KvMembership(_store));
        builder.Services.AddVirtualClusterControlPlane(o => o.DataDirectory = Path.Combine(_directory, name));
        builder.Services.AddControlPlaneHighAvailability(o =>
        {
            o.AdvertiseUrl = url;
            o.LeaseTtl = TimeSpan.FromSeconds(2);
        });
        var app = builder.Build();
        app.MapVirtualClusterApi();
        await app.StartAsync();
        _apps.Add(app);
        return (app, url);
    }

    private static async Task<LeaderView> LeaderAsync(string url)
    {
        LeaderView? view = null;
        await Wait.UntilAsync(async () => (view = await HaCluster.LeaderViewAsync(url))?.Leader is not null, TimeSpan.FromSeconds(30), "a leader");
        return view!;
    }

    [Fact]
    public async Task One_control_plane_leads_the_other_forwards_the_api_and_a_graceful_stop_hands_over_at_once()
    {
        var (first, firstUrl) = await StartAsync("cp-a");
        // The campaign runs in the background after start: wait for it, or the second could win a race to campaign first.
        var leader = await LeaderAsync(firstUrl);
        Assert.Equal(firstUrl, leader.Leader); // the only candidate leads
        var (_, secondUrl) = await StartAsync("cp-b");
        await Wait.UntilAsync(async () => (await HaCluster.LeaderViewAsync(secondUrl))?.Leader == firstUrl, TimeSpan.FromSeconds(30), "the follower to see the leader");

        var token = (await File.ReadAllTextAsync(Path.Combine(_directory, "cp-b", "admin.token"))).Trim();
        Assert.Equal(token, (await File.ReadAllTextAsync(Path.Combine(_directory, "cp-a", "admin.token"))).Trim());
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        // A deploy sent to the follower is forwarded with its body and token; the answer comes back unchanged.
        var spec = """{ "name": "web", "command": "dotnet", "args": ["x.dll"], "replicas": 1, "resources": { "cpu": "100m", "memory": "64Mi" } }""";
        using var deploy = await http.PostAsync(secondUrl + "/v1/services", new StringContent(spec, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, deploy.StatusCode); // no nodes yet: the leader's scheduler says why
        Assert.Equal(firstUrl, deploy.Headers.GetValues(LeaderForwarding.ServedByHeader).Single());
        Assert.Contains("node", (await deploy.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options))!.Error, StringComparison.OrdinalIgnoreCase);
        using var unauthorized = await new HttpClient().GetAsync(secondUrl + "/v1/status");
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        using var health = await new HttpClient().GetAsync(secondUrl + "/v1/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.False(health.Headers.Contains(LeaderForwarding.ServedByHeader)); // answered locally

        // The leader stops gracefully: it resigns and the follower takes over well before the lease would end.
        var stopped = DateTime.UtcNow;
        await first.StopAsync();
        var next = await LeaderAsync(secondUrl);
        await Wait.UntilAsync(async () => (await HaCluster.LeaderViewAsync(secondUrl))?.IsLeader == true, TimeSpan.FromSeconds(30), "the follower to lead");
        Assert.True(DateTime.UtcNow - stopped < TimeSpan.FromSeconds(10));
        using var status = await http.GetAsync(secondUrl + "/v1/status");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal(secondUrl, status.Headers.GetValues(LeaderForwarding.ServedByHeader).Single());
        Assert.True((await HaCluster.LeaderViewAsync(secondUrl))!.Token > leader.Token);
        Assert.NotNull(next);
    }

    [Fact]
    public async Task Options_are_validated_and_the_control_plane_must_be_added_first()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddControlPlaneHighAvailability(o => o.AdvertiseUrl = "http://a:1"));
        Assert.Contains("AddVirtualClusterControlPlane", error.Message);

        var services = new ServiceCollection().AddLogging();
        services.AddVirtualClusterControlPlane(o => o.DataDirectory = _directory);
        services.AddControlPlaneHighAvailability(o =>
        {
            o.AdvertiseUrl = "http://0.0.0.0:7070";
            o.LeaseTtl = TimeSpan.FromMilliseconds(500);
        });
        using var provider = services.BuildServiceProvider();
        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<HighAvailabilityOptions>>().Value);
        Assert.Contains("AdvertiseUrl", failure.Message);
        Assert.Contains("LeaseTtl", failure.Message);
    }

    [Theory]
    [InlineData(3, 5, 8)]   // the default lease would run out during a leader failover: raised to leader lease + 3 s
    [InlineData(20, 5, 20)] // already long enough: kept
    [InlineData(0, 5, 0)]   // self-fencing off stays off
    [InlineData(3, 2, 5)]
    public void The_fencing_lease_outlives_a_leader_failover(double configured, double leaderLease, double expected)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddVirtualClusterControlPlane(o =>
        {
            o.DataDirectory = _directory;
            o.FencingLease = TimeSpan.FromSeconds(configured);
        });
        services.AddControlPlaneHighAvailability(o =>
        {
            o.AdvertiseUrl = "http://127.0.0.1:7070";
            o.LeaseTtl = TimeSpan.FromSeconds(leaderLease);
        });
        using var provider = services.BuildServiceProvider();
        Assert.Equal(TimeSpan.FromSeconds(expected), provider.GetRequiredService<IOptions<ControlPlaneOptions>>().Value.FencingLease);
    }

    [Fact]
    public void A_failed_forward_is_offered_for_retry_only_when_the_leader_cannot_have_seen_it()
    {
        var refused = new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused");
        var cutOff = new HttpRequestException(HttpRequestError.ResponseEnded, "The response ended prematurely");
        var slow = new TaskCanceledException("timed out");

        Assert.True(LeaderForwarding.IsSafeToRetry("GET", cutOff));
        Assert.True(LeaderForwarding.IsSafeToRetry("GET", slow));
        Assert.True(LeaderForwarding.IsSafeToRetry("POST", refused));
        Assert.True(LeaderForwarding.IsSafeToRetry("DELETE", new HttpRequestException(HttpRequestError.NameResolutionError, "no such host")));
        Assert.False(LeaderForwarding.IsSafeToRetry("POST", cutOff));
        Assert.False(LeaderForwarding.IsSafeToRetry("DELETE", slow));
    }

    public async Task DisposeAsync()
    {
        foreach (var app in _apps)
        {
            try { await app.StopAsync(); } catch (ObjectDisposedException) { }
            await app.DisposeAsync();
        }
        await _store.DisposeAsync();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
