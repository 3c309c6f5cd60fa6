using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace VirtualCluster.ControlPlane.HighAvailability;

/// <summary>The control plane's background services (the reconciler and failure handling) that only the leader runs.</summary>
/// <param name="Types">Hosted-service types, created afresh for each term of leadership.</param>
public sealed record LeaderOnlyServiceTypes(IReadOnlyList<Type> Types);

/// <summary>
/// Starts the leader-only services when this control plane becomes leader and stops them when it stops being
/// leader. Each term gets new instances, so nothing a service kept in memory outlives a term (the reconciler,
/// for example, starts every term by giving every node a fresh grace period).
/// </summary>
public sealed class LeaderOnlyServices(IServiceProvider services, LeaderOnlyServiceTypes types)
{
    private readonly List<IHostedService> _running = [];
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Names of the services, for logs.</summary>
    public string Names => string.Join(", ", types.Types.Select(t => t.Name));

    /// <summary>Creates and starts every leader-only service.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var type in types.Types)
            {
                var service = (IHostedService)ActivatorUtilities.CreateInstance(services, type);
                _running.Add(service);
                await service.StartAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops (in reverse order) and disposes every running leader-only service; waits at most <paramref name="timeout"/> each.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            for (var i = _running.Count - 1; i >= 0; i--)
            {
                using var limit = new CancellationTokenSource(timeout);
                try
                {
                    await _running[i].StopAsync(limit.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // It had its chance; it is disposed anyway.
                }
                switch (_running[i])
                {
                    case IAsyncDisposable asyncDisposable: await asyncDisposable.DisposeAsync().ConfigureAwait(false); break;
                    case IDisposable disposable: disposable.Dispose(); break;
                }
            }
            _running.Clear();
        }
        finally
        {
            _gate.Release();
        }
    }
}
