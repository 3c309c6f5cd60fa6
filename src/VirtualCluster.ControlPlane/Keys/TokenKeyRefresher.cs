using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Security;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Keys;

/// <summary>
/// Every <see cref="TokenKeyOptions.RefreshInterval"/>: reads the published key set (other control planes' keys,
/// retirements), rotates this control plane's key when it is due or an admin asked, and when the set changed, issues
/// the bootstrap tokens again if their key is retiring and rewrites the token files.
/// </summary>
internal sealed partial class TokenKeyRefresher(TokenKeyManager keys, TokenService tokens, IClusterStore store, Joins.JoinTokenDirectory joins,
    Tls.ClusterTls tls, IOptions<TokenKeyOptions> options, IOptions<ControlPlaneOptions> controlPlane, TimeProvider time, ILogger<TokenKeyRefresher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.RefreshInterval, time, stoppingToken);
                await StepAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The store may be down for a while: the keys known keep serving, and the next step tries again.
                Log.StepFailed(logger, e.Message);
            }
        }
    }

    /// <summary>One step (also run by tests and after an on-demand rotation).</summary>
    public async Task StepAsync(CancellationToken ct)
    {
        await keys.TickAsync(ct);
        if (keys.TakeSetChanged())
            await BootstrapTokens.EnsureAsync(store, tokens, joins, controlPlane.Value.DataDirectory, tls.Fingerprint, ct);
    }

    private static partial class Log
    {
        [LoggerMessage(1509, LogLevel.Warning, "Could not refresh the token keys: {Reason}; trying again at the next interval")]
        public static partial void StepFailed(ILogger logger, string reason);
    }
}
