using System.Text.Json.Nodes;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;
using VirtualCluster.P2P.PeerConnections;
using VirtualCluster.P2P.Sdp;

namespace VirtualCluster.P2P.IntegrationTests.Interop;

/// <summary>A .NET <see cref="PeerConnection"/> and a page in headless Chromium, signaling through the test's endpoint.</summary>
internal sealed class BrowserSession : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly SignalingServer _server;
    private readonly Task _pump;
    private Chromium? _browser;

    private BrowserSession()
    {
        _server = new SignalingServer(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Interop", "chromium-peer.html")));
        Peer = new PeerConnection(PeerPair.Loopback());
        Peer.IceCandidate += c => _server.SendToBrowser(new JsonObject { ["type"] = "candidate", ["candidate"] = c ?? "" });
        Peer.DataChannel += c => Accepted.Writer.TryWrite(c);
        _pump = _server.PumpAsync(OnBrowserMessageAsync);
    }

    public PeerConnection Peer { get; }

    public System.Threading.Channels.Channel<DataChannel> Accepted { get; } = System.Threading.Channels.Channel.CreateUnbounded<DataChannel>();

    public Chromium Browser => _browser!;

    public static async Task<BrowserSession> StartAsync()
    {
        if (Chromium.UnavailableReason() is { } reason) throw new InvalidOperationException(reason);
        var session = new BrowserSession();
        try
        {
            session._browser = await Chromium.StartAsync(session._server.Url, Timeout);
            // the page target exists before its script has run
            var deadline = DateTime.UtcNow + Timeout;
            while ((await session.EvalAsync("window.interop !== undefined"))?.GetValue<bool>() != true)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException("the interop page did not load");
                await Task.Delay(20);
            }
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    /// <summary>The browser offers (with a channel named <paramref name="label"/>), .NET answers; returns the accepted channel.</summary>
    public async Task<DataChannel> BrowserOffersAsync(string label)
    {
        await EvalAsync($"interop.makeOffer('{label}')");
        await Peer.ConnectAsync().WaitAsync(Timeout);
        var channel = await Accepted.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        await EvalAsync($"interop.waitOpen('{label}')");
        return channel;
    }

    /// <summary>.NET offers, the browser answers; then .NET opens a channel named <paramref name="label"/>.</summary>
    public async Task<DataChannel> DotNetOffersAsync(string label)
    {
        var offer = await Peer.CreateOfferAsync();
        _server.SendToBrowser(new JsonObject { ["type"] = "offer", ["sdp"] = offer.Sdp });
        await Peer.ConnectAsync().WaitAsync(Timeout);
        var channel = Peer.CreateDataChannel(label);
        await channel.WaitForOpenAsync().WaitAsync(Timeout);
        await EvalAsync($"interop.waitOpen('{label}')");
        return channel;
    }

    public Task<JsonNode?> EvalAsync(string expression, TimeSpan? timeout = null) => Browser.EvaluateAsync(expression, timeout ?? Timeout);

    private Task OnBrowserMessageAsync(JsonObject m)
    {
        switch ((string?)m["type"])
        {
            case "offer":
                Peer.SetRemoteDescription(new SessionDescription(SdpType.Offer, (string)m["sdp"]!));
                return AnswerAsync();
            case "answer":
                Peer.SetRemoteDescription(new SessionDescription(SdpType.Answer, (string)m["sdp"]!));
                break;
            case "candidate":
                Peer.AddIceCandidate((string?)m["candidate"]);
                break;
        }
        return Task.CompletedTask;
    }

    private async Task AnswerAsync()
    {
        var answer = await Peer.CreateAnswerAsync();
        _server.SendToBrowser(new JsonObject { ["type"] = "answer", ["sdp"] = answer.Sdp });
    }

    public async ValueTask DisposeAsync()
    {
        await Peer.DisposeAsync();
        if (_browser is not null) await _browser.DisposeAsync();
        await _server.DisposeAsync();
        await Task.WhenAny(_pump, Task.Delay(2000));
    }
}
