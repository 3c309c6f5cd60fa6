using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using VirtualCluster.Routing;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Gateway;

/// <summary>
/// One HTTP connection pool per node and path: its connections go over the node's peer link when one is up, else its
/// tunnel, else directly to its address. When the path changes (a link comes up, or a fresh link replaces the old
/// one) requests get a new pool at once: kept-alive connections over the old path would otherwise go on carrying
/// them (a readiness probe's connection through the tunnel kept serving requests after the link was up). The old
/// pool is disposed a little later: requests still on it finish, its idle connections close.
/// </summary>
internal sealed class InstanceConnector(IStreamDialer dialer, INodePaths hub, IOptions<GatewayOptions> options, TimeProvider time) : IDisposable
{
    private readonly ConcurrentDictionary<string, Pool> _pools = new(StringComparer.Ordinal);

    private sealed record Pool(object Path, HttpMessageInvoker Client);

    public HttpMessageInvoker For(string nodeId)
    {
        var path = hub.PathIdentity(nodeId);
        if (_pools.TryGetValue(nodeId, out var pool) && ReferenceEquals(pool.Path, path)) return pool.Client;
        return Replace(nodeId, path);
    }

    private HttpMessageInvoker Replace(string nodeId, object path)
    {
        var created = new Pool(path, Create(nodeId));
        while (true)
        {
            if (_pools.TryGetValue(nodeId, out var old))
            {
                if (ReferenceEquals(old.Path, path))
                {
                    created.Client.Dispose(); // another request got there first
                    return old.Client;
                }
                if (_pools.TryUpdate(nodeId, created, old))
                {
                    _ = RetireAsync(old.Client);
                    return created.Client;
                }
            }
            else if (_pools.TryAdd(nodeId, created))
            {
                return created.Client;
            }
        }
    }

    /// <summary>
    /// Disposes a replaced pool once a request that picked it just before the swap has had time to get its connection.
    /// Disposing a SocketsHttpHandler closes its idle connections; those in use finish their request first.
    /// </summary>
    private async Task RetireAsync(HttpMessageInvoker client)
    {
        try
        {
            await Task.Delay(options.Value.ConnectTimeout * 2, time).ConfigureAwait(false);
        }
        finally
        {
            client.Dispose();
        }
    }

    private HttpMessageInvoker Create(string nodeId) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        UseCookies = false,
        ActivityHeadersPropagator = null,
        ConnectTimeout = options.Value.ConnectTimeout,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        ConnectCallback = async (context, ct) =>
        {
            var port = context.DnsEndPoint.Port;
            if (dialer.CanReach(nodeId)) return await dialer.DialAsync(nodeId, port, ct).ConfigureAwait(false);
            if (hub.EverConnected(nodeId)) throw new TunnelRefusedException($"node {nodeId} has no peer link or tunnel to this gateway now");
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(context.DnsEndPoint, ct).ConfigureAwait(false);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    }, disposeHandler: true);

    public void Dispose()
    {
        foreach (var pool in _pools.Values) pool.Client.Dispose();
    }
}

/// <summary>How the gateway reaches nodes now (implemented by <see cref="GatewayDialer"/>).</summary>
internal interface INodePaths
{
    /// <summary>An object that stands for the path a new connection to the node would take; another object means another path.</summary>
    object PathIdentity(string nodeId);

    /// <summary>True when the node ever had a link or a tunnel: then having neither means "unreachable", not "dial its address".</summary>
    bool EverConnected(string nodeId);
}
