using Microsoft.Extensions.Options;

namespace VirtualCluster.Routing.Tunnel;

/// <summary>
/// Limits of one tunnel. Memory per tunnel is bounded by <see cref="MaxStreams"/> × <see cref="StreamWindow"/> for
/// received data (a peer can never send past the credit it was given) plus the same for data waiting to be written.
/// </summary>
public sealed class TunnelOptions
{
    /// <summary>
    /// Receive window per stream: bytes a peer may send before the reader consumes them. Default 256 KiB. Larger
    /// windows carry more over long round trips; smaller ones bound memory tighter.
    /// </summary>
    public int StreamWindow { get; set; } = 256 * 1024;

    /// <summary>Most streams open at once on one tunnel; an open beyond it is refused. Default 512.</summary>
    public int MaxStreams { get; set; } = 512;

    /// <summary>Largest data frame sent (smaller frames interleave streams more fairly). Default 16 KiB.</summary>
    public int MaxDataFrame { get; set; } = 16 * 1024;

    /// <summary>How often a ping is sent when the tunnel is up. Default 10 s.</summary>
    public TimeSpan PingInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A tunnel on which nothing arrives for this long is closed. Default 30 s (three pings).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait for the peer to connect an opened stream. Default 5 s.</summary>
    public TimeSpan OpenTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Control frames (window updates, resets, pongs) that may wait to be written before the peer is judged to have
    /// stopped reading and the tunnel is closed. Default 4096.
    /// </summary>
    public int MaxQueuedControlFrames { get; set; } = 4096;
}

/// <summary>Checks <see cref="TunnelOptions"/>; every problem names the property and the fix.</summary>
public sealed class TunnelOptionsValidator : IValidateOptions<TunnelOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TunnelOptions o) => Check(o) is { Count: > 0 } errors
        ? ValidateOptionsResult.Fail(errors)
        : ValidateOptionsResult.Success;

    /// <summary>Every problem of <paramref name="o"/>, empty when it is valid.</summary>
    public static List<string> Check(TunnelOptions o)
    {
        var errors = new List<string>();
        if (o.StreamWindow is < 1024 or > 64 * 1024 * 1024)
            errors.Add($"StreamWindow {o.StreamWindow} must be between 1 KiB and 64 MiB");
        if (o.MaxStreams is < 1 or > 65_536) errors.Add($"MaxStreams {o.MaxStreams} must be between 1 and 65536");
        if (o.MaxDataFrame < 512 || o.MaxDataFrame > TunnelFrameHeader.MaxPayload)
            errors.Add($"MaxDataFrame {o.MaxDataFrame} must be between 512 and {TunnelFrameHeader.MaxPayload}");
        if (o.PingInterval <= TimeSpan.Zero) errors.Add("PingInterval must be positive, e.g. 10 s");
        if (o.IdleTimeout <= o.PingInterval) errors.Add($"IdleTimeout {o.IdleTimeout} must be longer than PingInterval {o.PingInterval}");
        if (o.OpenTimeout <= TimeSpan.Zero) errors.Add("OpenTimeout must be positive, e.g. 5 s");
        if (o.MaxQueuedControlFrames < 16) errors.Add($"MaxQueuedControlFrames {o.MaxQueuedControlFrames} must be at least 16");
        return errors;
    }
}
