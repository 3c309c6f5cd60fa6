using System.Net;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.PeerConnections;

namespace VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>Two .NET peer connections on loopback with in-process signaling (offer → answer, trickled candidates).</summary>
internal sealed class PeerPair : IAsyncDisposable
{
    public PeerPair(Func<PeerConnectionOptions>? options = null)
    {
        options ??= Loopback;
        Offerer = new PeerConnection(options());
        Answerer = new PeerConnection(options());
        Offerer.IceCandidate += c => Answerer.AddIceCandidate(c);
        Answerer.IceCandidate += c => Offerer.AddIceCandidate(c);
    }

    public static PeerConnectionOptions Loopback() => new()
    {
        Ice = new IceAgentOptions { LocalAddresses = [IPAddress.Loopback], IncludeLoopback = true },
    };

    public PeerConnection Offerer { get; }
    public PeerConnection Answerer { get; }

    public async Task NegotiateAsync(CancellationToken cancellationToken = default)
    {
        var offer = await Offerer.CreateOfferAsync(cancellationToken);
        Answerer.SetRemoteDescription(offer);
        var answer = await Answerer.CreateAnswerAsync(cancellationToken);
        Offerer.SetRemoteDescription(answer);
    }

    public async ValueTask DisposeAsync()
    {
        await Offerer.DisposeAsync();
        await Answerer.DisposeAsync();
    }
}
