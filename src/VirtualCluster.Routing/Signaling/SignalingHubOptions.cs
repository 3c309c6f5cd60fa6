using Microsoft.Extensions.Options;

namespace VirtualCluster.Routing.Signaling;

/// <summary>Limits of the signaling hub. Every limit bounds memory or work one peer can cause; validated at start.</summary>
public sealed class SignalingHubOptions
{
    /// <summary>Largest client frame accepted, in bytes; larger ones are discarded unread and answered with an error. Default 8 KiB (a candidate is ~100 bytes).</summary>
    public int MaxMessageBytes { get; set; } = 8 * 1024;

    /// <summary>Token bucket refill: messages per second one peer may send. Default 20.</summary>
    public double MessagesPerSecond { get; set; } = 20;

    /// <summary>Token bucket size: messages a peer may send in a burst (a whole ICE exchange). Default 100.</summary>
    public int Burst { get; set; } = 100;

    /// <summary>
    /// Bad frames (malformed, oversized, rate-limited, misaddressed) in a row after which the hub closes the connection
    /// with the policy-violation close code (1008). A good frame resets the count. Default 20.
    /// </summary>
    public int MaxStrikes { get; set; } = 20;

    /// <summary>Frames queued for one peer that reads slowly; beyond this, senders get a "peer-busy" error. Default 256.</summary>
    public int SendQueueLength { get; set; } = 256;

    /// <summary>Connected peers at most, over all clusters; more are refused with 503. Default 10,000.</summary>
    public int MaxPeers { get; set; } = 10_000;

    /// <summary>WebSocket keep-alive ping interval, so dead connections are noticed. Default 15 s.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);
}

internal sealed class SignalingHubOptionsValidator : IValidateOptions<SignalingHubOptions>
{
    public ValidateOptionsResult Validate(string? name, SignalingHubOptions o)
    {
        var errors = new List<string>();
        if (o.MaxMessageBytes is < 256 or > 1024 * 1024)
            errors.Add($"MaxMessageBytes {o.MaxMessageBytes} must be between 256 and 1048576 (default 8192).");
        if (!(o.MessagesPerSecond > 0) || o.MessagesPerSecond > 100_000)
            errors.Add($"MessagesPerSecond {o.MessagesPerSecond} must be positive and at most 100000 (default 20).");
        if (o.Burst is < 1 or > 100_000)
            errors.Add($"Burst {o.Burst} must be between 1 and 100000 (default 100).");
        if (o.MaxStrikes is < 1 or > 10_000)
            errors.Add($"MaxStrikes {o.MaxStrikes} must be between 1 and 10000 (default 20).");
        if (o.SendQueueLength is < 1 or > 100_000)
            errors.Add($"SendQueueLength {o.SendQueueLength} must be between 1 and 100000 (default 256).");
        if (o.MaxPeers is < 1 or > 10_000_000)
            errors.Add($"MaxPeers {o.MaxPeers} must be between 1 and 10000000 (default 10000).");
        if (o.KeepAliveInterval < TimeSpan.Zero || o.KeepAliveInterval > TimeSpan.FromMinutes(10))
            errors.Add($"KeepAliveInterval {o.KeepAliveInterval} must be between 0 (off) and 10 minutes (default 00:00:15).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
