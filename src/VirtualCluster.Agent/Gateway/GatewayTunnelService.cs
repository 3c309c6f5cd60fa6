using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VirtualCluster.Agent.Connection;
using VirtualCluster.Agent.Supervision;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Agent.Gateway;

/// <summary>
/// Keeps the agent's outbound tunnels to its gateways (<see cref="AgentOptions.Gateways"/>), authenticated with the
/// machine token it got when it joined. Through them a gateway reaches this node's instances, and only them: a stream
/// is connected to 127.0.0.1:port only when an instance of this node has that port and is running or starting.
/// The other way, the agent opens streams to a gateway for its instances' calls to other services (<see cref="ServiceCallProxy"/>).
/// </summary>
internal sealed class GatewayTunnelService(AgentOptions options, InstanceSupervisor supervisor, GatewayConnectionTls tls, ILoggerFactory loggers, TimeProvider time,
    ServiceCallProxy? serviceCalls = null)
    : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var gateways = options.Gateways.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(g => new Uri(g)).ToList();
        if (gateways.Count == 0) return Task.CompletedTask;
        var client = new TunnelClient(new TunnelClientSettings(gateways, Token, IsInstancePort,
            (uri, socket, ct) => tls.ConfigureAsync(gateways.FirstOrDefault(g => g.Host == uri.Host && g.Port == uri.Port) ?? uri, uri, socket, ct)), new TunnelOptions(), loggers.CreateLogger<TunnelClient>(), time);
        // The instances' service calls go over these same tunnels (a stream the agent opens towards a gateway).
        if (serviceCalls is not null) serviceCalls.OpenToGateway = client.OpenAsync;
        return client.RunAsync(stoppingToken);
    }

    // The identity file appears once the agent has joined; until then there is nothing to authenticate with.
    private string? Token() => AgentIdentity.Load(options.DataDirectory)?.Token;

    private bool IsInstancePort(int port) => IsInstancePort(supervisor, port);

    /// <summary>True when <paramref name="port"/> belongs to an instance of this node that runs or is starting: the only ports a gateway may reach.</summary>
    internal static bool IsInstancePort(InstanceSupervisor supervisor, int port) => supervisor.Snapshot.Any(i =>
        i.State is InstanceState.Running or InstanceState.Starting or InstanceState.Unhealthy && i.Ports is { } ports && ports.Contains(port));

    /// <summary>
    /// True when <paramref name="port"/> belongs to a running instance of <paramref name="service"/> and that service
    /// opted in to the browser-direct path: the only ports a browser may reach (never another service's, never one
    /// that did not opt in).
    /// </summary>
    internal static bool IsBrowserServicePort(InstanceSupervisor supervisor, string service, int port) => supervisor.Snapshot.Any(i =>
        i.BrowserDirect && i.Service == service && i.State is InstanceState.Running or InstanceState.Unhealthy && i.Ports is { } ports && ports.Contains(port));
}
