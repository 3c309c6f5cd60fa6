using System.Text.Json.Nodes;
using System.Threading.Channels;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;
using VirtualCluster.P2P.PeerConnections;
using VirtualCluster.P2P.Sdp;

namespace VirtualCluster.P2P.IntegrationTests.Interop;

/// <summary>A .NET <see cref="PeerConnection"/> and a node-datachannel peer, signaling over the child's stdio.</summary>
internal sealed class NodeSession : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;

    private NodeSession(PeerConnectionOptions options)
    {
        Node = NodeDataChannelPeer.Start();
        Peer = new PeerConnection(options);
        Peer.IceCandidate += c => _ = Node.SendAsync(new JsonObject { ["type"] = "candidate", ["candidate"] = c ?? "" });
        Peer.DataChannel += c => Accepted.Writer.TryWrite(c);
        _pump = PumpAsync();
    }

    public NodeDataChannelPeer Node { get; }
    public PeerConnection Peer { get; }
    public Channel<DataChannel> Accepted { get; } = Channel.CreateUnbounded<DataChannel>();
    public Channel<JsonObject> Events { get; } = Channel.CreateUnbounded<JsonObject>();

    // libdatachannel offers only non-loopback host candidates, so the .NET side uses its interfaces too (the default)
    public static NodeSession Start(PeerConnectionOptions? options = null) => new(options ?? new PeerConnectionOptions());

    /// <summary>Connects with the given side offering and returns an open channel named <paramref name="label"/> (opened by the offerer).</summary>
    public async Task<DataChannel> ConnectAsync(bool dotNetOffers, string label)
    {
        if (dotNetOffers)
        {
            var offer = await Peer.CreateOfferAsync();
            await Node.SendAsync(new JsonObject { ["type"] = "offer", ["sdp"] = offer.Sdp });
            await Peer.ConnectAsync().WaitAsync(Timeout);
            var channel = Peer.CreateDataChannel(label);
            await channel.WaitForOpenAsync().WaitAsync(Timeout);
            await WaitEventAsync("open", label);
            return channel;
        }
        await Node.SendAsync(new JsonObject { ["cmd"] = "offer", ["label"] = label });
        await Peer.ConnectAsync().WaitAsync(Timeout);
        var accepted = await Accepted.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        await WaitEventAsync("open", label);
        return accepted;
    }

    public async Task<JsonObject> WaitEventAsync(string type, string? label = null)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (true)
        {
            var e = await Events.Reader.ReadAsync(cts.Token);
            if ((string?)e["type"] == type && (label is null || (string?)e["label"] == label)) return e;
        }
    }

    private async Task PumpAsync()
    {
        try
        {
            await foreach (var m in Node.Messages.ReadAllAsync(_stop.Token))
            {
                switch ((string?)m["type"])
                {
                    case "offer":
                        Peer.SetRemoteDescription(new SessionDescription(SdpType.Offer, (string)m["sdp"]!));
                        var answer = await Peer.CreateAnswerAsync();
                        await Node.SendAsync(new JsonObject { ["type"] = "answer", ["sdp"] = answer.Sdp });
                        break;
                    case "answer":
                        Peer.SetRemoteDescription(new SessionDescription(SdpType.Answer, (string)m["sdp"]!));
                        break;
                    case "candidate":
                        Peer.AddIceCandidate((string?)m["candidate"]);
                        break;
                    default:
                        Events.Writer.TryWrite(m);
                        break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Peer.DisposeAsync();
        await Node.DisposeAsync();
        _stop.Cancel();
        await Task.WhenAny(_pump, Task.Delay(2000));
    }
}
