using Microsoft.Extensions.Options;
using VirtualCluster.P2P.Stun;

namespace VirtualCluster.P2P.Turn;

/// <summary>Settings of a <see cref="TurnClient"/>.</summary>
public sealed class TurnClientOptions
{
    /// <summary>Allocation lifetime to ask for (RFC 8656 §7.2: the server default is 600 s). Default 600 s.</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Retransmission of requests to the server. Default RTO 500 ms, Rc 7, Rm 16 (RFC 8489 §6.2.1).</summary>
    public StunRetransmission Retransmission { get; set; } = StunRetransmission.Default;

    /// <summary>How often the client looks at what needs refreshing (allocation, permissions, channels). Default 30 s.</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Datagrams kept per peer while its permission is being created. Default 16.</summary>
    public int MaxQueuedPerPeer { get; set; } = 16;

    /// <summary>SOFTWARE attribute sent in requests; null sends none. Default "VirtualCluster.P2P".</summary>
    public string? Software { get; set; } = "VirtualCluster.P2P";
}

internal sealed class TurnClientOptionsValidator : IValidateOptions<TurnClientOptions>
{
    public ValidateOptionsResult Validate(string? name, TurnClientOptions options)
    {
        var errors = new List<string>();
        if (options.Lifetime < TimeSpan.FromMinutes(2))
            errors.Add("Lifetime must be at least 00:02:00: the client refreshes one minute before expiry.");
        if (options.Retransmission.InitialRto <= TimeSpan.Zero || options.Retransmission.MaxTransmissions < 1)
            errors.Add("Retransmission needs a positive InitialRto and at least one transmission (RFC 8489 defaults: 500 ms, 7).");
        if (options.MaintenanceInterval <= TimeSpan.Zero || options.MaintenanceInterval > TimeSpan.FromMinutes(1))
            errors.Add("MaintenanceInterval must be between 0 and 00:01:00, or permissions (5 min) may lapse.");
        if (options.MaxQueuedPerPeer is < 0 or > 1024)
            errors.Add("MaxQueuedPerPeer must be between 0 and 1024.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static void ThrowIfInvalid(TurnClientOptions options)
    {
        var result = new TurnClientOptionsValidator().Validate(null, options);
        if (result.Failed) throw new OptionsValidationException(nameof(TurnClientOptions), typeof(TurnClientOptions), result.Failures);
    }
}
