using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.ControlPlane.Joins;
using VirtualCluster.ControlPlane.Keys;
using VirtualCluster.Security;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Tests.Keys;

/// <summary>What a control plane does with its keys at start, without a host: key manager, token service, bootstrap tokens.</summary>
internal static class ClusterKeys
{
    public static async Task<(TokenKeyManager Keys, TokenService Tokens, ClusterCredentials Credentials)> StartAsync(
        IClusterStore store, string dataDirectory, TimeProvider time, TokenKeyOptions? options = null, ILogger<TokenKeyManager>? logger = null)
    {
        var keys = new TokenKeyManager(store, dataDirectory, options ?? new TokenKeyOptions(), TokenService.MaxUserTokenLifetime, time,
            logger ?? NullLogger<TokenKeyManager>.Instance);
        await keys.StartAsync();
        var clusterId = await ClusterCredentials.LoadOrCreateClusterIdAsync(store);
        var tokens = new TokenService(keys.Ring, timeProvider: time, audience: clusterId);
        var credentials = await ClusterCredentials.LoadOrCreateAsync(store, dataDirectory, tokens, new JoinTokenDirectory(store, time));
        return (keys, tokens, credentials);
    }
}
