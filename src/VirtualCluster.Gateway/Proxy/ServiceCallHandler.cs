using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Routing;
using VirtualCluster.Routing.ServiceCalls;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Gateway;

/// <summary>
/// Service-to-service calls: an agent opens a stream over its tunnel (<see cref="ServiceCallProtocol"/>) for one of
/// its instances that connected to the agent's local address of a service; this connects it to a healthy instance of
/// that service wherever it runs, over that node's peer link or tunnel (as the proxy reaches it), trying another
/// instance when one cannot be connected. The caller is an authenticated node of the cluster (its tunnel took its
/// machine token), so no service access token is asked for. One connection goes to one instance; a connection that
/// breaks with its instance is not moved, the caller's next connection goes to a healthy one: calls follow failovers.
/// </summary>
internal sealed partial class ServiceCallHandler(
    IServiceRouteTable routes,
    EndpointSelector selector,
    IStreamDialer dialer,
    INodePaths paths,
    IOptions<GatewayOptions> options,
    GatewayMetrics metrics,
    ILogger<ServiceCallHandler> logger)
{
    private readonly GatewayOptions _options = options.Value;

    /// <summary>The tunnel hub's accept callback: a stream pair whose far end is served here.</summary>
    public ValueTask<Stream> AcceptAsync(string caller, int port, CancellationToken cancellationToken)
    {
        if (port != ServiceCallProtocol.TunnelPort)
            throw new TunnelRefusedException($"a gateway takes service calls (port {ServiceCallProtocol.TunnelPort}) from agents, not port {port}");
        if (!_options.ServiceCalls) throw new TunnelRefusedException("service-to-service calls are turned off on this gateway");
        var (outer, inner) = StreamPair.Create();
        _ = Task.Run(() => ServeAsync(caller, inner, CancellationToken.None), CancellationToken.None);
        return ValueTask.FromResult(outer);
    }

    /// <summary>Reads the request on <paramref name="stream"/>, answers, and splices it to an instance; never throws.</summary>
    internal async Task ServeAsync(string caller, Stream stream, CancellationToken cancellationToken)
    {
        var service = "";
        try
        {
            await using var _ = stream;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                // A caller that sends no request in time holds nothing for long.
                timeout.CancelAfter(_options.ConnectTimeout);
                try
                {
                    service = await ServiceCallProtocol.ReadRequestAsync(stream, timeout.Token).ConfigureAwait(false);
                }
                catch (ServiceCallProtocolException e)
                {
                    await AnswerAsync(stream, caller, "", ServiceCallStatus.BadRequest, e.Message).ConfigureAwait(false);
                    return;
                }
            }
            var route = routes.Find(service);
            if (route is null)
            {
                await AnswerAsync(stream, caller, service, routes.Loaded ? ServiceCallStatus.UnknownService : ServiceCallStatus.NoInstance, routes.Loaded
                    ? $"no service named \"{service}\" is deployed in this cluster; `vcluster services` lists the deployed ones"
                    : "the gateway has not read the service list from the control plane yet; try again in a moment").ConfigureAwait(false);
                return;
            }
            var tried = new List<string>();
            while (true)
            {
                var endpoint = selector.Pick(route, tried);
                if (endpoint is null)
                {
                    var underway = route.FailoverUnderway || route.Endpoints.Any(e => !selector.IsReachable(e)) || tried.Count > 0 && route.Desired() > 0;
                    await AnswerAsync(stream, caller, service, tried.Count > 0 && !underway ? ServiceCallStatus.Unreachable : ServiceCallStatus.NoInstance, underway
                        ? $"\"{service}\" has no healthy instance right now and one is being started ({route.State}); retry shortly"
                        : $"\"{service}\" has no running instance that could be connected ({route.State})").ConfigureAwait(false);
                    return;
                }
                tried.Add(endpoint.InstanceId);
                Stream target;
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timeout.CancelAfter(_options.ConnectTimeout);
                    target = await ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is TunnelRefusedException or IOException or SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    selector.Failed(endpoint, _options.FailedEndpointCooldown);
                    LogConnectFailed(logger, caller, service, endpoint.InstanceId, e.Message);
                    if (tried.Count < _options.MaxAttempts) continue;
                    await AnswerAsync(stream, caller, service, ServiceCallStatus.Unreachable,
                        $"instance {endpoint.InstanceId} of \"{service}\" could not be connected ({e.Message}); {route.State}").ConfigureAwait(false);
                    return;
                }
                await using (target.ConfigureAwait(false))
                {
                    await AnswerAsync(stream, caller, service, ServiceCallStatus.Connected, endpoint.InstanceId).ConfigureAwait(false);
                    selector.Started(endpoint);
                    try
                    {
                        await StreamSplice.RunAsync(stream, target, cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        selector.Finished(endpoint);
                    }
                }
                return;
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // The caller went away (or the tunnel closed) while the call was being set up: nothing to answer.
            LogCallerGone(logger, caller, service, e.Message);
        }
    }

    /// <summary>Over the node's link or tunnel; directly at its address when it never had either (a LAN cluster).</summary>
    private async Task<Stream> ConnectAsync(ServiceEndpoint endpoint, CancellationToken ct)
    {
        if (dialer.CanReach(endpoint.NodeId)) return await dialer.DialAsync(endpoint.NodeId, endpoint.Port, ct).ConfigureAwait(false);
        if (paths.EverConnected(endpoint.NodeId)) throw new TunnelRefusedException($"node {endpoint.NodeId} has no peer link or tunnel to this gateway now");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint.NodeAddress, endpoint.Port, ct).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task AnswerAsync(Stream stream, string caller, string service, ServiceCallStatus status, string message)
    {
        metrics.ServiceCall(service, status);
        if (status != ServiceCallStatus.Connected) LogRefused(logger, caller, service, status, message);
        await ServiceCallProtocol.WriteAnswerAsync(stream, status, message).ConfigureAwait(false);
    }

    [LoggerMessage(6121, LogLevel.Information, "Service call from node {Caller} to \"{Service}\" refused ({Status}): {Message}")]
    private static partial void LogRefused(ILogger logger, string caller, string service, ServiceCallStatus status, string message);

    [LoggerMessage(6122, LogLevel.Information, "Service call from node {Caller} to \"{Service}\": instance {Instance} could not be connected ({Reason}); trying another")]
    private static partial void LogConnectFailed(ILogger logger, string caller, string service, string instance, string reason);

    [LoggerMessage(6123, LogLevel.Debug, "Service call from node {Caller} to \"{Service}\" ended while being set up: {Reason}")]
    private static partial void LogCallerGone(ILogger logger, string caller, string service, string reason);
}
