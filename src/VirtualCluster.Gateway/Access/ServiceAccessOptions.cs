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
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex SafeName();
}
