using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using VirtualCluster.Routing.PeerLinks;
using VirtualCluster.Routing.Signaling;
using VirtualCluster.Routing.Tests.Signaling;

namespace VirtualCluster.Routing.Tests.PeerLinks;

/// <summary>
/// A real signaling hub on Kestrel, the gateway's side (in-process participant "gateway:gw" + a <see cref="PeerLinkManager"/>)
/// and an agent's side (a <see cref="SignalingClient"/> over WebSocket + a <see cref="PeerLinkAcceptor"/>), with real
/// peer connections over loopback UDP, and a TCP echo server as the "instance".
/// </summary>
internal sealed class LinkRig : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly CancellationTokenSource stop = new();
    private readonly TcpListener echo = new(IPAddress.Loopback, 0);
    private readonly Task echoLoop;
    private SignalingClient? agentClient;
    private Task? acceptor;
    private CancellationTokenSource? agentStop;

    private LinkRig(HubHost host, LocalSignalingParticipant gateway)
    {
        Host = host;
        Gateway = gateway;
        echo.Start();
        echoLoop = EchoAsync();
        Links = new PeerLinkManager(gateway, () => Options, Loggers, TimeProvider.System);
    }

    public static ILoggerFactory Loggers { get; } = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug));

    public HubHost Host { get; }
    public LocalSignalingParticipant Gateway { get; }
    public PeerLinkManager Links { get; }
    public PeerLinkOptions Options { get; } = new() { IncludeLoopback = true, InitialBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1) };
    public int EchoPort => ((IPEndPoint)echo.LocalEndpoint).Port;

    /// <summary>Ports the agent lets a browser reach, by the service in its peer name; null: the agent answers no browser.</summary>
    public Func<string, int, bool>? BrowserServicePorts { get; set; }

    /// <summary>Ports the agent lets the gateway reach (its "instances").</summary>
    public HashSet<int> AllowedPorts { get; } = [];

    public static async Task<LinkRig> StartAsync()
    {
        // The hub's clock is fake (token buckets refill only when advanced): a generous burst covers the tests' exchanges.
        var host = await HubHost.StartAsync(o => o.Burst = 100_000);
        var gateway = host.Hub.AttachLocal(new SignalingIdentity("alpha", "gateway:gw"));
        var rig = new LinkRig(host, gateway);
        rig.AllowedPorts.Add(rig.EchoPort);
        return rig;
    }

    /// <summary>Starts (or restarts) the agent "node-a" and tells the gateway to link to it once it is on the hub.</summary>
    public async Task StartAgentAsync(string name = "node-a", bool track = true)
    {
        agentStop = new CancellationTokenSource();
        agentClient = Host.Client("alpha", name);
        agentClient.Start();
        await agentClient.WaitConnectedAsync().WaitAsync(Deadline);
        acceptor = new PeerLinkAcceptor(agentClient, () => Options, p => AllowedPorts.Contains(p), Loggers, null, BrowserServicePorts).RunAsync(agentStop.Token);
        if (track) Links.Track([name]);
    }

    /// <summary>Stops the agent's side: its links close and it leaves the hub.</summary>
    public async Task StopAgentAsync()
    {
        if (agentStop is null) return;
        await agentStop.CancelAsync();
        await acceptor!.WaitAsync(Deadline);
        await agentClient!.DisposeAsync();
        agentStop.Dispose();
        agentStop = null;
    }

    public async Task<PeerLinkStatus> WaitLinkAsync(string node, Func<PeerLinkStatus, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var status = Links.Links.FirstOrDefault(l => l.Node == node);
            if (status is not null && condition(status)) return status;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{what}: last status {status}");
            await Task.Delay(50);
        }
    }

    private async Task EchoAsync()
    {
        try
        {
            while (true)
            {
                var client = await echo.AcceptTcpClientAsync(stop.Token);
                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        var stream = client.GetStream();
                        var buffer = new byte[65536];
                        try
                        {
                            int n;
                            while ((n = await stream.ReadAsync(buffer, stop.Token)) > 0) await stream.WriteAsync(buffer.AsMemory(0, n), stop.Token);
                        }
                        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
                        {
                        }
                    }
                });
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAgentAsync();
        await Links.DisposeAsync();
        await Gateway.DisposeAsync();
        await stop.CancelAsync();
        echo.Stop();
        await echoLoop;
        await Host.DisposeAsync();
        stop.Dispose();
    }
}
