using System.Text;
using VirtualCluster.P2P.PeerConnections;
using VirtualCluster.P2P.Sdp;
using VirtualCluster.P2P.Signaling;
using VirtualCluster.Routing.Signaling;

namespace VirtualCluster.Routing.PeerLinks;

/// <summary>
/// Carries a peer connection's description over the hub: the SDP goes in the offer/answer message without its
/// candidate lines (so it stays small), and the candidates follow one per message. Every message carries the session
/// id, so messages of an older attempt are dropped.
/// </summary>
internal static class SdpSignaling
{
    /// <summary>Sends <paramref name="description"/> then its inline candidates.</summary>
    public static async Task SendAsync(ISignalingEndpoint endpoint, string peer, string session, SessionDescription description, CancellationToken ct)
    {
        var sdp = new StringBuilder();
        var candidates = new List<string>();
        var end = false;
        string ufrag = "", pwd = "";
        foreach (var raw in description.Sdp.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith("a=candidate:", StringComparison.Ordinal)) candidates.Add(line[2..]);
            else if (line == "a=end-of-candidates") end = true;
            else if (line.Length > 0)
            {
                if (line.StartsWith("a=ice-ufrag:", StringComparison.Ordinal)) ufrag = line[12..];
                else if (line.StartsWith("a=ice-pwd:", StringComparison.Ordinal)) pwd = line[10..];
                sdp.Append(line).Append("\r\n");
            }
        }
        SignalingMessage first = description.Type == SdpType.Offer
            ? new OfferMessage(ufrag, pwd) { Sdp = sdp.ToString(), Session = session }
            : new AnswerMessage(ufrag, pwd) { Sdp = sdp.ToString(), Session = session };
        await endpoint.SendAsync(peer, first, ct).ConfigureAwait(false);
        foreach (var candidate in candidates)
            await endpoint.SendAsync(peer, new CandidateMessage(candidate) { Session = session }, ct).ConfigureAwait(false);
        if (end) await endpoint.SendAsync(peer, new EndOfCandidatesMessage { Session = session }, ct).ConfigureAwait(false);
    }

    /// <summary>The message for a trickled candidate (null = end of candidates).</summary>
    public static SignalingMessage Trickle(string? candidate, string session) =>
        candidate is null ? new EndOfCandidatesMessage { Session = session } : new CandidateMessage(candidate) { Session = session };

    /// <summary>Applies a candidate or end-of-candidates message; false for other kinds.</summary>
    public static bool TryApplyCandidate(PeerConnection connection, SignalingMessage message)
    {
        switch (message)
        {
            case CandidateMessage c:
                connection.AddIceCandidate(c.Candidate);
                return true;
            case EndOfCandidatesMessage:
                connection.AddIceCandidate(null);
                return true;
            default:
                return false;
        }
    }

    /// <summary>"direct" or "relayed" from the selected ICE pair (null while none).</summary>
    public static string? PathOf(PeerConnection connection) =>
        connection.Ice?.SelectedPair is { } pair ? pair.IsRelayed ? "relayed" : "direct" : null;

    /// <summary>SCTP's smoothed RTT when measured, else the RTT of the ICE check that found the path.</summary>
    public static TimeSpan? RttOf(PeerConnection connection) => connection.Sctp?.SmoothedRtt ?? connection.Ice?.SelectedPair?.Rtt;

    /// <summary>A random session id.</summary>
    public static string NewSession() => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
}
