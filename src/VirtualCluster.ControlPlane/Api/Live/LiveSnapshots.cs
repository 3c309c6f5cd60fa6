using System.Text.Json;
using Microsoft.Extensions.Options;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Alerts;
using VirtualCluster.ControlPlane.Cluster;

namespace VirtualCluster.ControlPlane.Api.Live;

/// <summary>
/// The cluster's status and alerts as JSON, built at most once per <see cref="MinimumAge"/> however many live streams
/// (dashboards) ask: a status walks every node and service, so ten open dashboards must not cost ten walks a second.
/// </summary>
internal sealed class LiveSnapshots(ClusterService cluster, AlertEvaluator alerts, IOptions<ServiceUrlOptions> urls, TimeProvider time)
{
    public static readonly TimeSpan MinimumAge = TimeSpan.FromMilliseconds(500);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Snapshot? _last;
    private int _open;

    /// <summary>Takes one of <paramref name="max"/> stream places for this control plane; false when all are taken.</summary>
    public bool TryOpenStream(int max)
    {
        if (Interlocked.Increment(ref _open) <= max) return true;
        Interlocked.Decrement(ref _open);
        return false;
    }

    /// <summary>Gives back a place taken by <see cref="TryOpenStream"/>.</summary>
    public void CloseStream() => Interlocked.Decrement(ref _open);

    /// <summary>A status and alerts snapshot no older than <see cref="MinimumAge"/>.</summary>
    public async Task<Snapshot> GetAsync(CancellationToken ct)
    {
        if (_last is { } fresh && time.GetUtcNow() - fresh.At < MinimumAge) return fresh;
        await _gate.WaitAsync(ct);
        try
        {
            if (_last is { } other && time.GetUtcNow() - other.At < MinimumAge) return other;
            var status = TokenEndpoints.WithUrls(await cluster.GetStatusAsync(ct), urls.Value);
            var (firing, resolved) = alerts.View();
            var alertView = new AlertsResponse([.. firing.Select(ApiEndpoints.AlertViewOf)], [.. resolved.Select(ApiEndpoints.AlertViewOf)]);
            return _last = new Snapshot(time.GetUtcNow(), JsonSerializer.Serialize(status, VirtualClusterJson.Options),
                JsonSerializer.Serialize(alertView, VirtualClusterJson.Options));
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>What one tick of the live stream sends: the status and the alerts, serialized.</summary>
    public sealed record Snapshot(DateTimeOffset At, string Status, string Alerts);
}
