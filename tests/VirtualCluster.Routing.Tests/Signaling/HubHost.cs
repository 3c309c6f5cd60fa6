using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Routing.Signaling;
using VirtualCluster.Security;

namespace VirtualCluster.Routing.Tests.Signaling;

/// <summary>A real Kestrel host serving the signaling hub for two clusters, "alpha" and "beta", each with its own key.</summary>
internal sealed class HubHost : IAsyncDisposable
{
    private readonly WebApplication app;

    private HubHost(WebApplication app, Uri uri, TokenService alpha, TokenService beta, FakeTimeProvider clock)
    {
        this.app = app;
        Uri = uri;
        Alpha = alpha;
        Beta = beta;
        Clock = clock;
    }

    public TokenService Alpha { get; }
    public TokenService Beta { get; }

    /// <summary>The hub's clock: token buckets refill only when a test advances it.</summary>
    public FakeTimeProvider Clock { get; }

    public Uri Uri { get; }

    public SignalingHub Hub => app.Services.GetRequiredService<SignalingHub>();

    public static async Task<HubHost> StartAsync(Action<SignalingHubOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var alpha = new TokenService(TokenKeyRing.CreateEphemeral(), audience: "alpha");
        var beta = new TokenService(TokenKeyRing.CreateEphemeral(), audience: "beta");
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2031-01-01T00:00:00Z"));
        builder.Services.AddSingleton(alpha);
        builder.Services.AddSingleton(beta);
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddVirtualClusterSignaling(configure);
        var app = builder.Build();
        app.MapVirtualClusterSignaling();
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        return new HubHost(app, new Uri($"ws://127.0.0.1:{address.Port}{SignalingEndpoints.DefaultPath}"), alpha, beta, clock);
    }

    public string Token(string cluster, string peer) =>
        (cluster == "alpha" ? Alpha : Beta).Issue(peer, TokenRoles.Machine);

    public SignalingClient Client(string cluster, string peer) => new(new SignalingClientOptions
    {
        HubUri = Uri,
        TokenProvider = _ => ValueTask.FromResult(Token(cluster, peer)),
        InitialBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
    });

    /// <summary>A raw WebSocket, for sending what a well-behaved client never would.</summary>
    public async Task<ClientWebSocket> RawAsync(string? token)
    {
        var socket = new ClientWebSocket();
        if (token is not null) socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        await socket.ConnectAsync(Uri, CancellationToken.None);
        return socket;
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}

/// <summary>Reading and writing hub frames on a raw socket, with a deadline.</summary>
internal static class Raw
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public static Task SendAsync(this ClientWebSocket socket, string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>The next frame as a parsed <see cref="SignalingFrame"/>, or null when the hub closed the connection.</summary>
    public static async Task<SignalingFrame?> ReceiveFrameAsync(this ClientWebSocket socket)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        var buffer = new byte[64 * 1024];
        var length = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer.AsMemory(length), timeout.Token);
            length += result.Count;
        }
        while (!result.EndOfMessage);
        if (result.MessageType == WebSocketMessageType.Close) return null;
        Assert.True(SignalingFrame.TryParse(Encoding.UTF8.GetString(buffer, 0, length), out var frame));
        return frame;
    }

    /// <summary>Reads frames until one of <paramref name="kind"/> arrives.</summary>
    public static async Task<SignalingFrame> ExpectAsync(this ClientWebSocket socket, string kind, string? code = null)
    {
        while (true)
        {
            var frame = await socket.ReceiveFrameAsync() ?? throw new Xunit.Sdk.XunitException($"connection closed while waiting for {kind} {code}");
            if (frame.Kind == kind && (code is null || frame.Code == code)) return frame;
            if (kind != "welcome" && frame.Kind != "welcome")
                throw new Xunit.Sdk.XunitException($"expected {kind} {code}, got {frame.ToJson()}");
        }
    }

    public const string Offer = """{"type":"offer","ufrag":"abcd","pwd":"0123456789abcdefghijkl"}""";

    public static string To(string peer, string message = Offer) => $$"""{"to":"{{peer}}","message":{{message}}}""";
}
