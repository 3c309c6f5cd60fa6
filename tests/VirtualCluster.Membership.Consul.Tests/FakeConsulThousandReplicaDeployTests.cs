using VirtualCluster.ControlPlane.Tests.Store;
using VirtualCluster.Membership.Consul.Client;
using VirtualCluster.Membership.Consul.Tests.Fake;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Consul.Tests;

/// <summary>
/// <see cref="ThousandReplicaDeployTests"/> on the Consul provider against <see cref="FakeConsulServer"/> (a fake
/// that refuses transactions of more than 64 operations, as Consul does). Checks our splitting and transaction
/// mapping; not proof against a real Consul.
/// </summary>
public sealed class FakeConsulThousandReplicaDeployTests : ThousandReplicaDeployTests
{
    private readonly HttpClient _http = new();
    private FakeConsulServer? _server;
    private ConsulMembershipOptions? _options;
    private ConsulKeyValueStore? _kv;

    protected override int TransactionLimit => 64;

    protected override async Task<IKeyValueStore> OpenStoreAsync()
    {
        _server = await FakeConsulServer.StartAsync();
        _options = new ConsulMembershipOptions { Address = _server.Address };
        _kv = new ConsulKeyValueStore(new ConsulClient(_http, _options), _options);
        return _kv;
    }

    protected override async Task<Leadership> CampaignAsync(IKeyValueStore kv)
    {
        var lease = await kv.GrantLeaseAsync(TimeSpan.FromMinutes(10));
        return await new ConsulLeaderElection(_kv!, _options!).CampaignAsync("control-plane", "test", lease.Id);
    }

    public override async Task DisposeAsync()
    {
        _http.Dispose();
        if (_server is not null) await _server.DisposeAsync();
    }
}
