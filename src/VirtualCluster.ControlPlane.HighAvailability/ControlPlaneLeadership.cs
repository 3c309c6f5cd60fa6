using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.Membership;
using VirtualCluster.Membership.ClusterState;
using VirtualCluster.Membership.Leases;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.HighAvailability;

/// <summary>
/// Runs this control plane's part in the cluster of control planes: it registers itself as a member (role
/// control-plane, address = its API URL), campaigns for leadership with a lease it keeps alive, and while it
/// leads, fences the cluster-state writes with its leadership and runs the leader-only services. When the lease
/// is lost it stops them, clears the fence and campaigns again. It also follows who leads, for forwarding.
/// On a graceful stop it resigns, so another control plane takes over at once.
/// </summary>
public sealed partial class ControlPlaneLeadership : BackgroundService
{
    private readonly IKeyValueStore _store;
    private readonly ILeaderElection _election;
    private readonly IMembership _membership;
    private readonly LeadershipFence _fence;
    private readonly LeaderOnlyServices _leaderOnly;
    private readonly HighAvailabilityOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ControlPlaneLeadership> _logger;
    private readonly ClusterService _cluster;
    private volatile LeaderInfo? _leader;

    public ControlPlaneLeadership(IKeyValueStore store, ILeaderElection election, IMembership membership, LeadershipFence fence,
        LeaderOnlyServices leaderOnly, IOptions<HighAvailabilityOptions> options, TimeProvider time, ILogger<ControlPlaneLeadership> logger,
        ClusterService cluster)
    {
        // The control plane keeps no state in memory until this one is elected; each term then starts afresh.
        _cluster = cluster;
        _cluster.EndTerm();
        _store = store;
        _election = election;
        _membership = membership;
        _fence = fence;
        _leaderOnly = leaderOnly;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>This control plane's API URL.</summary>
    public string Self => _options.AdvertiseUrl;

    /// <summary>True while this control plane holds the leadership.</summary>
    public bool IsLeader => _fence.Current is not null;

    /// <summary>The leadership this control plane holds, or null.</summary>
    public Leadership? Leadership => _fence.Current;

    /// <summary>The leader as last observed (possibly this control plane), or null while there is none.</summary>
    public LeaderInfo? Leader => _fence.Current?.Info ?? _leader;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var observer = ObserveAsync(stoppingToken);
        var member = MembershipAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await LeadOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                Log.CampaignFailed(_logger, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), _time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
        await Task.WhenAll(observer, member).ConfigureAwait(false);
    }

    /// <summary>One term: lease, campaign, lead until the lease is lost or the host stops.</summary>
    private async Task LeadOnceAsync(CancellationToken stoppingToken)
    {
        await using var lease = await LeaseKeeper.StartAsync(_store, _options.LeaseTtl, _time, _logger, stoppingToken).ConfigureAwait(false);
        using var term = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lease.Lost);
        Log.Campaigning(_logger, Self, _options.ElectionName);
        var leadership = await _election.CampaignAsync(_options.ElectionName, Self, lease.LeaseId, term.Token).ConfigureAwait(false);
        _fence.Set(leadership);
        _cluster.BeginTerm();
        Log.Elected(_logger, Self, leadership.Token, _leaderOnly.Names);
        try
        {
            await _leaderOnly.StartAsync(term.Token).ConfigureAwait(false);
            await Task.Delay(Timeout.InfiniteTimeSpan, _time, term.Token).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }
        finally
        {
            _fence.Set(null);
            _cluster.EndTerm();
            await _leaderOnly.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            if (stoppingToken.IsCancellationRequested)
            {
                await ResignQuietlyAsync(leadership).ConfigureAwait(false);
                Log.Resigned(_logger, Self);
            }
            else
            {
                Log.LeadershipLost(_logger, Self, leadership.Token);
            }
        }
    }

    private async Task ResignQuietlyAsync(Leadership leadership)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await _election.ResignAsync(leadership, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KeyValueStoreUnavailableException or OperationCanceledException)
        {
            // The lease ends it anyway.
        }
    }

    /// <summary>Keeps <see cref="Leader"/> current.</summary>
    private async Task ObserveAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var leader in _election.ObserveAsync(_options.ElectionName, stoppingToken).ConfigureAwait(false))
                {
                    _leader = leader;
                    Log.LeaderObserved(_logger, leader?.Value ?? "(none)", leader?.Token ?? 0);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _leader = null;
                Log.ObserveFailed(_logger, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), _time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Registers this control plane as a member and renews it; registers again when the registration expired.</summary>
    private async Task MembershipAsync(CancellationToken stoppingToken)
    {
        var self = new MemberInfo("cp-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Self)))[..12],
            Self, Self, Resources.Zero, new Dictionary<string, string> { ["role"] = "control-plane" });
        MemberRegistration? registration = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (registration is null || !await _membership.RenewAsync(registration, stoppingToken).ConfigureAwait(false))
                    registration = await _membership.RegisterAsync(self, _options.LeaseTtl * 2, stoppingToken).ConfigureAwait(false);
                await Task.Delay(registration.Ttl / 3, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                Log.MembershipFailed(_logger, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), _time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
        if (registration is not null)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                await _membership.DeregisterAsync(registration, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KeyValueStoreUnavailableException or OperationCanceledException)
            {
                // Its registration expires by itself.
            }
        }
    }
}
