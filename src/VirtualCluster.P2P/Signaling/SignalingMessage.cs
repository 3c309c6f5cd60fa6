using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VirtualCluster.P2P.Signaling;

/// <summary>
/// One signaling message, a small JSON object with a "type" (trickle ICE, RFC 8838, without SDP):
/// <c>{"type":"offer","ufrag":"...","pwd":"..."}</c>, <c>{"type":"answer",...}</c>,
/// <c>{"type":"candidate","candidate":"candidate:1 1 udp ..."}</c>, <c>{"type":"end-of-candidates"}</c>.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(OfferMessage), "offer")]
[JsonDerivedType(typeof(AnswerMessage), "answer")]
[JsonDerivedType(typeof(CandidateMessage), "candidate")]
[JsonDerivedType(typeof(EndOfCandidatesMessage), "end-of-candidates")]
public abstract record SignalingMessage
{
    private const int MaxLength = 4096;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        MaxDepth = 4,
    };

    /// <summary>The JSON text of a message (one line).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Parses a message; false, never an exception, for malformed JSON, an unknown type or missing fields.</summary>
    public static bool TryParse(string? json, [NotNullWhen(true)] out SignalingMessage? message)
    {
        message = null;
        if (string.IsNullOrWhiteSpace(json) || json.Length > MaxLength) return false;
        try
        {
            message = JsonSerializer.Deserialize<SignalingMessage>(json, Json);
        }
        catch (JsonException)
        {
            return false;
        }
        catch (NotSupportedException)
        {
            return false; // e.g. no "type" discriminator
        }
        return message is not null && message.HasRequiredFields();
    }

    /// <summary>True when the required fields are present.</summary>
    public virtual bool HasRequiredFields() => true;

    /// <summary>Optional id of the negotiation this message belongs to, so a peer can drop messages of an older attempt.</summary>
    public string? Session { get; init; }
}

/// <summary>The offerer's ICE credentials; the offerer takes the controlling role.</summary>
public sealed record OfferMessage(string Ufrag, string Pwd) : SignalingMessage
{
    /// <summary>Optional full SDP offer (a data-channel peer connection), besides the ICE credentials.</summary>
    public string? Sdp { get; init; }

    /// <inheritdoc />
    public override bool HasRequiredFields() => !string.IsNullOrEmpty(Ufrag) && !string.IsNullOrEmpty(Pwd);
}

/// <summary>The answerer's ICE credentials.</summary>
public sealed record AnswerMessage(string Ufrag, string Pwd) : SignalingMessage
{
    /// <summary>Optional full SDP answer (a data-channel peer connection), besides the ICE credentials.</summary>
    public string? Sdp { get; init; }

    /// <inheritdoc />
    public override bool HasRequiredFields() => !string.IsNullOrEmpty(Ufrag) && !string.IsNullOrEmpty(Pwd);
}

/// <summary>One trickled candidate in SDP attribute syntax ("candidate:...", RFC 8839 §5.1).</summary>
public sealed record CandidateMessage(string Candidate) : SignalingMessage
{
    /// <inheritdoc />
    public override bool HasRequiredFields() => !string.IsNullOrEmpty(Candidate);
}

/// <summary>The sender has no more candidates (RFC 8838 §8.2).</summary>
public sealed record EndOfCandidatesMessage : SignalingMessage;
