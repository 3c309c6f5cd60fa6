using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using VirtualCluster.P2P.Signaling;

namespace VirtualCluster.Routing.Signaling;

/// <summary>Error codes the hub sends in <c>{"kind":"error","code":...}</c> frames.</summary>
public static class SignalingErrorCodes
{
    /// <summary>Not JSON, unknown fields, or not a valid signaling message.</summary>
    public const string Malformed = "malformed";
    /// <summary>Larger than the hub's MaxMessageBytes.</summary>
    public const string TooLarge = "too-large";
    /// <summary>The sender exceeded its message rate.</summary>
    public const string RateLimited = "rate-limited";
    /// <summary>No peer of that name is connected in the sender's cluster.</summary>
    public const string UnknownPeer = "unknown-peer";
    /// <summary>The frame named a cluster other than the sender's.</summary>
    public const string WrongCluster = "wrong-cluster";
    /// <summary>The addressee is not reading fast enough; its queue is full.</summary>
    public const string PeerBusy = "peer-busy";
}

/// <summary>
/// The hub's wire format, one JSON object per WebSocket text frame.
/// Client to hub: <c>{"to":"node-b","message":{"type":"offer",...}}</c> (optional <c>"cluster"</c>, which must be the
/// sender's own). Hub to client: <c>{"kind":"welcome","cluster":..,"peer":..}</c> once connected,
/// <c>{"kind":"message","from":"node-a","message":{...}}</c>, <c>{"kind":"error","code":..,"detail":..,"to":..}</c>.
/// </summary>
public sealed record SignalingFrame
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        MaxDepth = 8,
    };

    /// <summary>"welcome", "message" or "error".</summary>
    public required string Kind { get; init; }
    /// <summary>Sender of a "message".</summary>
    public string? From { get; init; }
    /// <summary>The relayed signaling message.</summary>
    public JsonElement? Message { get; init; }
    /// <summary>One of <see cref="SignalingErrorCodes"/>.</summary>
    public string? Code { get; init; }
    /// <summary>Readable explanation of an error.</summary>
    public string? Detail { get; init; }
    /// <summary>Addressee of the frame an error is about.</summary>
    public string? To { get; init; }
    /// <summary>The connection's cluster (welcome).</summary>
    public string? Cluster { get; init; }
    /// <summary>The connection's own peer name (welcome).</summary>
    public string? Peer { get; init; }

    /// <summary>The frame as JSON text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>A relayed message frame.</summary>
    public static string Relay(string from, SignalingMessage message) =>
        $"{{\"kind\":\"message\",\"from\":{JsonSerializer.Serialize(from)},\"message\":{message.ToJson()}}}";

    /// <summary>An error frame.</summary>
    public static string Error(string code, string detail, string? to = null) =>
        new SignalingFrame { Kind = "error", Code = code, Detail = detail, To = to }.ToJson();

    /// <summary>Parses a hub frame (client side); false for anything else.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out SignalingFrame? frame)
    {
        frame = null;
        try
        {
            frame = JsonSerializer.Deserialize<SignalingFrame>(text, Json);
        }
        catch (JsonException)
        {
            return false;
        }
        return frame?.Kind is not null;
    }

    /// <summary>A client frame addressed to <paramref name="to"/>.</summary>
    public static string Outgoing(string to, SignalingMessage message) =>
        $"{{\"to\":{JsonSerializer.Serialize(to)},\"message\":{message.ToJson()}}}";
}

/// <summary>A client frame, parsed and checked by the hub.</summary>
internal readonly record struct ClientFrame(string To, string? Cluster, SignalingMessage Message)
{
    public const int MaxPeerName = 253;
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 8 };

    /// <summary>Parses a client frame; on failure <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(ReadOnlyMemory<byte> utf8, out ClientFrame frame, [NotNullWhen(false)] out string? error)
    {
        frame = default;
        try
        {
            using var document = JsonDocument.Parse(utf8, Options);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return Fail("a frame must be a JSON object like {\"to\":\"node-b\",\"message\":{\"type\":\"offer\",...}}", out error);
            string? to = null, cluster = null;
            SignalingMessage? message = null;
            foreach (var property in root.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "to" when property.Value.ValueKind == JsonValueKind.String:
                        to = property.Value.GetString();
                        break;
                    case "cluster" when property.Value.ValueKind == JsonValueKind.String:
                        cluster = property.Value.GetString();
                        break;
                    case "message" when property.Value.ValueKind == JsonValueKind.Object:
                        if (!SignalingMessage.TryParse(property.Value.GetRawText(), out message))
                            return Fail("\"message\" is not a signaling message: offer/answer need ufrag and pwd, candidate needs candidate", out error);
                        break;
                    default:
                        return Fail($"field \"{Truncate(property.Name)}\" is unknown or of the wrong type; a frame has \"to\" (string), \"message\" (object) and optionally \"cluster\" (string)", out error);
                }
            }
            if (string.IsNullOrEmpty(to) || to.Length > MaxPeerName)
                return Fail($"\"to\" must name a peer (1 to {MaxPeerName} characters)", out error);
            if (message is null) return Fail("\"message\" is missing", out error);
            frame = new ClientFrame(to, cluster, message);
            error = null;
            return true;
        }
        catch (JsonException)
        {
            return Fail("not valid JSON", out error);
        }
    }

    private static bool Fail(string message, out string error)
    {
        error = message;
        return false;
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
