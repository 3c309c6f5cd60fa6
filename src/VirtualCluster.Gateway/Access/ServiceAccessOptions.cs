using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace VirtualCluster.Gateway.Access;

/// <summary>How the gateway asks for and remembers service tokens (services with <c>"access": "token"</c>).</summary>
public sealed class ServiceAccessOptions
{
    /// <summary>
    /// Name of the cookie that holds a service token after the <c>?vc_token=</c> exchange. The cookie is HttpOnly,
    /// SameSite=Lax, host-only (no Domain, so one service's token never reaches another service's host), Secure when the
    /// request came over HTTPS, and expires with the token. Default <c>vc_access</c>.
    /// </summary>
    public string CookieName { get; set; } = "vc_access";

    /// <summary>Query parameter a browser link carries a token in, exchanged for the cookie. Default <c>vc_token</c>.</summary>
    public string QueryParameter { get; set; } = "vc_token";

    /// <summary>
    /// Refused access tokens a client address may send per second on average, once its burst is spent (IPv6 counted
    /// per /64). A check takes one before the token's signature is checked and gives it back when the token is valid,
    /// so a flood of forged or garbage tokens gets 429 with Retry-After without costing the gateway (or the control
    /// plane a standalone gateway asks) any work, while clients with valid tokens are never limited. Default 2.
    /// </summary>
    public double RefusedTokensPerSecond { get; set; } = 2;

    /// <summary>Refused access tokens a client address may send at once before <see cref="RefusedTokensPerSecond"/> applies. Default 20.</summary>
    public int RefusedTokenBurst { get; set; } = 20;

    /// <summary>Client addresses whose refused tokens are counted at once (bounds the memory a flood from many addresses can take). Default 10,000.</summary>
    public int MaxTrackedAddresses { get; set; } = 10_000;
}

internal sealed partial class ServiceAccessOptionsValidator : IValidateOptions<ServiceAccessOptions>
{
    public ValidateOptionsResult Validate(string? name, ServiceAccessOptions options)
    {
        var errors = new List<string>();
        // RFC 6265 cookie names are tokens; keeping to a safe subset also keeps them valid query parameter names.
        if (string.IsNullOrEmpty(options.CookieName) || !SafeName().IsMatch(options.CookieName))
            errors.Add($"CookieName '{options.CookieName}' must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-', e.g. vc_access.");
        if (string.IsNullOrEmpty(options.QueryParameter) || !SafeName().IsMatch(options.QueryParameter))
            errors.Add($"QueryParameter '{options.QueryParameter}' must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-', e.g. vc_token.");
        if (!(options.RefusedTokensPerSecond is > 0 and <= 1_000_000))
            errors.Add($"RefusedTokensPerSecond {options.RefusedTokensPerSecond} must be above 0 and at most 1000000, e.g. 2.");
        if (options.RefusedTokenBurst is < 1 or > 1_000_000)
            errors.Add($"RefusedTokenBurst {options.RefusedTokenBurst} must be 1 to 1000000, e.g. 20.");
        if (options.MaxTrackedAddresses is < 1 or > 10_000_000)
            errors.Add($"MaxTrackedAddresses {options.MaxTrackedAddresses} must be 1 to 10000000, e.g. 10000.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex SafeName();
}
