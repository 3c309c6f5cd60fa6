using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Api;

namespace VirtualCluster.Gateway;

/// <summary>Refreshes the route table from the control plane every <see cref="GatewayOptions.RefreshInterval"/>.</summary>
internal sealed partial class ControlPlaneRouteSource(
    ControlPlaneReader reader, ServiceRouteTable table, RemovedNodes removed, IOptions<GatewayOptions> options, TimeProvider time,
    ILogger<ControlPlaneRouteSource> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var token = options.Value.ControlPlaneToken;
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var requestedAt = time.GetUtcNow();
                var services = reader.GetAsync<List<ServiceView>>("v1/services", token, stoppingToken);
                var nodes = reader.GetAsync<List<NodeView>>("v1/nodes", token, stoppingToken);
                var (s, status) = await services.ConfigureAwait(false);
                var (n, _) = await nodes.ConfigureAwait(false);
                if (s is null || n is null)
                {
                    if (!failing) LogRefused(logger, status);
                    failing = true;
                }
                else
                {
                    table.Replace(s, n, time.GetUtcNow());
                    await removed.ApplyAsync(n, requestedAt).ConfigureAwait(false);
                    if (failing) LogRecovered(logger);
                    failing = false;
                }
            }
            catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException && !stoppingToken.IsCancellationRequested)
            {
                // Keep serving the last table: instances keep running while the control plane is away.
                if (!failing) LogUnreachable(logger, e.Message);
                failing = true;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            try { await Task.Delay(options.Value.RefreshInterval, time, stoppingToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    [LoggerMessage(6001, LogLevel.Warning, "The control plane refused the gateway's token (HTTP {Status}); give it an admin token (--token-file)")]
    private static partial void LogRefused(ILogger logger, int status);

    [LoggerMessage(6002, LogLevel.Warning, "Cannot read routes from the control plane ({Reason}); serving the last known routes")]
    private static partial void LogUnreachable(ILogger logger, string reason);

    [LoggerMessage(6003, LogLevel.Information, "Reading routes from the control plane again")]
    private static partial void LogRecovered(ILogger logger);
}
