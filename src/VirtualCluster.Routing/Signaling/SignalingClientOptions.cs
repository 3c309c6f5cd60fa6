namespace VirtualCluster.Routing.Signaling;

/// <summary>Where and how a <see cref="SignalingClient"/> connects.</summary>
public sealed class SignalingClientOptions
{
    /// <summary>The hub's WebSocket URL, e.g. <c>wss://gateway.example.com/v1/signaling</c>. Required.</summary>
    public Uri? HubUri { get; set; }

    /// <summary>Gives the machine token for each (re)connection, so a renewed token is picked up. Required.</summary>
    public Func<CancellationToken, ValueTask<string>>? TokenProvider { get; set; }

    /// <summary>
    /// Called before each connection attempt, to set TLS on the WebSocket: the certificate check (an agent pins the
    /// cluster CA) and a client certificate. Null: the system's trust store, no client certificate.
    /// </summary>
    public Func<System.Net.WebSockets.ClientWebSocketOptions, CancellationToken, ValueTask>? ConfigureSocket { get; set; }

    /// <summary>First wait before reconnecting; doubles per failed attempt (plus up to 25 % jitter). Default 500 ms.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait between reconnection attempts. Default 30 s.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Messages kept per remote peer until read; the oldest are dropped beyond this. Default 256.</summary>
    public int PeerQueueLength { get; set; } = 256;

    /// <summary>Every problem with these settings, each naming the property and the fix; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (HubUri is null || !HubUri.IsAbsoluteUri || HubUri.Scheme is not ("ws" or "wss"))
            errors.Add("HubUri must be an absolute ws:// or wss:// URL, e.g. wss://gateway.example.com/v1/signaling.");
        if (TokenProvider is null) errors.Add("TokenProvider is required: return the agent's or gateway's machine token.");
        if (InitialBackoff <= TimeSpan.Zero || InitialBackoff > TimeSpan.FromMinutes(1))
            errors.Add("InitialBackoff must be positive and at most 1 minute (default 00:00:00.5).");
        if (MaxBackoff < InitialBackoff || MaxBackoff > TimeSpan.FromHours(1))
            errors.Add("MaxBackoff must be at least InitialBackoff and at most 1 hour (default 00:00:30).");
        if (PeerQueueLength is < 1 or > 100_000) errors.Add("PeerQueueLength must be between 1 and 100000 (default 256).");
        return errors;
    }
}
