using Microsoft.Extensions.Options;

namespace VirtualCluster.ControlPlane.Keys;

/// <summary>How often the control plane's token signing key is replaced, and how the old one is let go.</summary>
public sealed class TokenKeyOptions
{
    /// <summary>
    /// How old a control plane's signing key may get before it makes a new one; default 30 days, from 1 hour to 365
    /// days. Tokens signed by the old key stay valid until they expire (see <see cref="RetireMargin"/>).
    /// </summary>
    public TimeSpan RotateEvery { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// Added to the longest lifetime a token of a rotated-out key can have (90 days for user tokens, or the machine
    /// token lifetime if longer) before that key is retired and refused; default 1 day, from 0 to 30 days.
    /// </summary>
    public TimeSpan RetireMargin { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// How often the published key set is read back from the store (other control planes' new keys, retirements,
    /// rotation requests); default 5 seconds, from 100 ms to 5 minutes. A token with an unknown key id also causes a
    /// read, at most once a second.
    /// </summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>Checks <see cref="TokenKeyOptions"/> at start and names every problem with its fix.</summary>
internal sealed class TokenKeyOptionsValidator : IValidateOptions<TokenKeyOptions>
{
    public ValidateOptionsResult Validate(string? name, TokenKeyOptions options)
    {
        var errors = new List<string>();
        if (options.RotateEvery < TimeSpan.FromHours(1) || options.RotateEvery > TimeSpan.FromDays(365))
            errors.Add($"TokenKeyOptions.RotateEvery is {options.RotateEvery}; it must be from 1 hour to 365 days, e.g. 30.00:00:00 for 30 days.");
        if (options.RetireMargin < TimeSpan.Zero || options.RetireMargin > TimeSpan.FromDays(30))
            errors.Add($"TokenKeyOptions.RetireMargin is {options.RetireMargin}; it must be from 0 to 30 days, e.g. 1.00:00:00 for a day.");
        if (options.RefreshInterval < TimeSpan.FromMilliseconds(100) || options.RefreshInterval > TimeSpan.FromMinutes(5))
            errors.Add($"TokenKeyOptions.RefreshInterval is {options.RefreshInterval}; it must be from 100 ms to 5 minutes, e.g. 00:00:05.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
