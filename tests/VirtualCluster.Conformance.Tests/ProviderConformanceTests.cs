using VirtualCluster.Membership;
using VirtualCluster.Store;

namespace VirtualCluster.Conformance.Tests;

/// <summary>What a provider supplies to the conformance suite: its three services, isolated from other tests.</summary>
/// <param name="Store">The key-value store.</param>
/// <param name="Election">Leader election on that store.</param>
/// <param name="Membership">Membership.</param>
/// <param name="Cleanup">Disposes what the provider created for this test (may be null).</param>
public sealed record ProviderUnderTest(IKeyValueStore Store, ILeaderElection Election, IMembership Membership, IAsyncDisposable? Cleanup = null);

/// <summary>
/// The behaviour every membership, leader-election and key-value provider must have (the pattern of Orleans'
/// MembershipTableTestsBase). A provider's test class derives from this one and only supplies
/// <see cref="CreateProviderAsync"/> (and, where it differs, the lease TTL and how to interrupt its connection).
/// Each test gets a fresh provider instance, isolated (for example by a key prefix) from every other test.
/// </summary>
public abstract partial class ProviderConformanceTests : IAsyncLifetime
{
    private ProviderUnderTest? _provider;

    /// <summary>A fresh provider, isolated from other tests.</summary>
    protected abstract Task<ProviderUnderTest> CreateProviderAsync();

    /// <summary>A second, independent client of the same provider instance (same server, same isolation prefix), as another process would have.</summary>
    protected abstract Task<ProviderUnderTest> CreateSecondClientAsync();

    /// <summary>A short lease TTL the provider honours. Default 2 s.</summary>
    protected virtual TimeSpan LeaseTtl => TimeSpan.FromSeconds(2);

    /// <summary>
    /// Breaks the provider's connections to its server (for example by restarting the server) and returns once
    /// the server answers again. Providers without a connection do nothing.
    /// </summary>
    protected virtual Task InterruptConnectionAsync() => Task.CompletedTask;

    /// <summary>How long a lease may outlive its TTL before the test calls it a failure.</summary>
    protected TimeSpan ExpiryDeadline => LeaseTtl * 3 + TimeSpan.FromSeconds(5);

    protected IKeyValueStore Store => _provider!.Store;
    protected ILeaderElection Election => _provider!.Election;
    protected IMembership Membership => _provider!.Membership;

    public async Task InitializeAsync() => _provider = await CreateProviderAsync();

    public async Task DisposeAsync()
    {
        if (_provider?.Cleanup is { } cleanup) await cleanup.DisposeAsync();
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes (then fails with <paramref name="what"/>).</summary>
    protected static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out after {timeout.TotalSeconds:0.#} s waiting for {what}");
            await Task.Delay(50);
        }
    }

    /// <summary>Keeps a lease alive in the background until disposed.</summary>
    protected sealed class KeepAlive : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public KeepAlive(IKeyValueStore store, KvLease lease)
        {
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    try
                    {
                        var started = DateTime.UtcNow;
                        if (await store.KeepAliveAsync(lease.Id, _stop.Token)) LastRenewalStarted = started;
                        await Task.Delay(lease.Ttl / 4, _stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                    catch (KeyValueStoreUnavailableException)
                    {
                        await Task.Delay(100);
                    }
                }
            });
        }

        /// <summary>
        /// When the last successful renewal was sent (no later than the store applied it, so a lease never ends
        /// before this plus its TTL); <see cref="DateTime.MinValue"/> before the first. A loaded machine can delay a
        /// renewal well past its quarter-TTL schedule, so tests measure from this, not from when renewing stopped.
        /// </summary>
        public DateTime LastRenewalStarted { get; private set; } = DateTime.MinValue;

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }
    }
}
