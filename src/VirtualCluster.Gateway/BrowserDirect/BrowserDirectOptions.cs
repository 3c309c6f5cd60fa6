using Microsoft.Extensions.Options;

namespace VirtualCluster.Gateway.BrowserDirect;

/// <summary>Limits of the browser-direct signaling a gateway relays (services with <c>"browserDirect": true</c>).</summary>
public sealed class BrowserDirectOptions
{
    /// <summary>Signaling sockets one client address may hold at once (a tab needs one, for seconds, per link attempt). Default 8.</summary>
    public int MaxSessionsPerClient { get; set; } = 8;

    /// <summary>Frames a signaling socket may send per second on average. Default 20.</summary>
    public int MessagesPerSecond { get; set; } = 20;

    /// <summary>Frames a signaling socket may send at once (an offer and its candidates). Default 40.</summary>
    public int Burst { get; set; } = 40;

    /// <summary>Largest signaling frame in bytes (an offer without candidates is about 1 KiB). Default 8192.</summary>
    public int MaxFrameBytes { get; set; } = 8 * 1024;

    /// <summary>Bad frames in a row after which the socket is closed with 1008. Default 5.</summary>
    public int MaxStrikes { get; set; } = 5;

    /// <summary>How long a signaling socket may stay open (a link is made in seconds; the tab keeps its channels, not the socket). Default 10 min.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>Checks <see cref="BrowserDirectOptions"/>; every problem names the option and the range.</summary>
internal sealed class BrowserDirectOptionsValidator : IValidateOptions<BrowserDirectOptions>
{
    public ValidateOptionsResult Validate(string? name, BrowserDirectOptions o)
    {
        var errors = new List<string>();
        if (o.MaxSessionsPerClient is < 1 or > 1000) errors.Add($"MaxSessionsPerClient {o.MaxSessionsPerClient} must be between 1 and 1000 (default 8)");
        if (o.MessagesPerSecond is < 1 or > 1000) errors.Add($"MessagesPerSecond {o.MessagesPerSecond} must be between 1 and 1000 (default 20)");
        if (o.Burst < 1 || o.Burst > 10_000) errors.Add($"Burst {o.Burst} must be between 1 and 10000 (default 40)");
        if (o.MaxFrameBytes is < 2048 or > 64 * 1024) errors.Add($"MaxFrameBytes {o.MaxFrameBytes} must be between 2048 and 65536 (default 8192): an offer needs about 1 KiB");
        if (o.MaxStrikes is < 1 or > 100) errors.Add($"MaxStrikes {o.MaxStrikes} must be between 1 and 100 (default 5)");
        if (o.SessionLifetime < TimeSpan.FromSeconds(10) || o.SessionLifetime > TimeSpan.FromHours(1))
            errors.Add($"SessionLifetime {o.SessionLifetime} must be between 10 s and 1 h (default 10 min)");
        return errors.Count > 0 ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
    }
}
