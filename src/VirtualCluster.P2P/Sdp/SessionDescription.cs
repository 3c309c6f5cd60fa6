namespace VirtualCluster.P2P.Sdp;

/// <summary>Whether a description is an offer or an answer (as <c>RTCSdpType</c>; pranswer and rollback are not supported).</summary>
public enum SdpType
{
    /// <summary>The first description of the exchange.</summary>
    Offer,
    /// <summary>The reply to an offer.</summary>
    Answer,
}

/// <summary>A session description as signaled between peers: its type and its SDP text (RFC 8866), like <c>RTCSessionDescriptionInit</c>.</summary>
public sealed record SessionDescription(SdpType Type, string Sdp)
{
    /// <summary>The lower-case type name browsers use in JSON ("offer", "answer").</summary>
    public string TypeName => Type == SdpType.Offer ? "offer" : "answer";

    /// <summary>Parses "offer" or "answer" (case-insensitive). Never throws.</summary>
    public static bool TryParseType(string? text, out SdpType type)
    {
        type = SdpType.Offer;
        if (string.Equals(text, "offer", StringComparison.OrdinalIgnoreCase)) return true;
        type = SdpType.Answer;
        return string.Equals(text, "answer", StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>The <c>a=setup</c> value (RFC 4145, RFC 8842): who starts the DTLS handshake.</summary>
public enum DtlsSetup
{
    /// <summary>Either; an offer says this (RFC 8842 §5.2).</summary>
    ActPass,
    /// <summary>This side is the DTLS client.</summary>
    Active,
    /// <summary>This side is the DTLS server.</summary>
    Passive,
}
