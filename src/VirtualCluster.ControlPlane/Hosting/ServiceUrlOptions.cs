using Microsoft.Extensions.Options;

namespace VirtualCluster.ControlPlane;

/// <summary>
/// Where the cluster's gateway serves each service, so the API can show a service's stable URL (the one that follows
/// failovers) beside its instances' node addresses. Configure with <c>services.Configure&lt;ServiceUrlOptions&gt;</c>.
/// </summary>
public sealed class ServiceUrlOptions
{
    /// <summary>The placeholder replaced by the service's name in <see cref="GatewayUrl"/>.</summary>
    public const string ServicePlaceholder = "{service}";

    /// <summary>
    /// The gateway's public URL for a service, with <c>{service}</c> where the name goes, e.g.
    /// <c>http://{service}.localhost:8080/</c> (what <c>local</c> uses) or <c>https://{service}.apps.example.com/</c>.
    /// Default null: no gateway is known, and views carry no <c>url</c> unless <see cref="ClusterDomain"/> is set.
    /// </summary>
    public string? GatewayUrl { get; set; }

    /// <summary>
    /// The cluster domain the gateway serves (e.g. <c>apps.example.com</c>); used when <see cref="GatewayUrl"/> is not
    /// set, giving <c>https://&lt;service&gt;.&lt;domain&gt;/</c>. Default null.
    /// </summary>
    public string? ClusterDomain { get; set; }

    /// <summary>
    /// The cluster domain: <see cref="ClusterDomain"/>, else the host of <see cref="GatewayUrl"/> after its
    /// <c>{service}.</c> label; null when neither says (custom domains are then not checked against it).
    /// </summary>
    public string? Domain()
    {
        if (!string.IsNullOrWhiteSpace(ClusterDomain)) return ClusterDomain.Trim().TrimEnd('.').ToLowerInvariant();
        if (string.IsNullOrWhiteSpace(GatewayUrl)) return null;
        const string marker = "service-name-placeholder";
        return Uri.TryCreate(GatewayUrl.Trim().Replace(ServicePlaceholder, marker, StringComparison.Ordinal), UriKind.Absolute, out var uri)
            && uri.Host.StartsWith(marker + ".", StringComparison.OrdinalIgnoreCase) ? uri.Host[(marker.Length + 1)..].ToLowerInvariant() : null;
    }

    /// <summary>The stable URL of <paramref name="service"/>, or null when neither setting is given.</summary>
    public string? UrlFor(string service)
    {
        if (!string.IsNullOrWhiteSpace(GatewayUrl)) return GatewayUrl.Trim().Replace(ServicePlaceholder, service, StringComparison.Ordinal);
        if (!string.IsNullOrWhiteSpace(ClusterDomain)) return $"https://{service}.{ClusterDomain.Trim().TrimEnd('.')}/";
        return null;
    }
}

internal sealed class ServiceUrlOptionsValidator : IValidateOptions<ServiceUrlOptions>
{
    public ValidateOptionsResult Validate(string? name, ServiceUrlOptions options)
    {
        var errors = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.GatewayUrl))
        {
            var template = options.GatewayUrl.Trim();
            var sample = template.Replace(ServiceUrlOptions.ServicePlaceholder, "hello", StringComparison.Ordinal);
            if (!template.Contains(ServiceUrlOptions.ServicePlaceholder, StringComparison.Ordinal))
                errors.Add($"GatewayUrl '{template}' has no {{service}} placeholder; write it like http://{{service}}.localhost:8080/ so each service gets its own host.");
            else if (!Uri.TryCreate(sample, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || sample.Contains('{') || sample.Contains('}'))
                errors.Add($"GatewayUrl '{template}' is not an http or https URL once {{service}} is filled in; write it like https://{{service}}.apps.example.com/.");
        }
        if (!string.IsNullOrWhiteSpace(options.ClusterDomain)
            && Uri.CheckHostName("hello." + options.ClusterDomain.Trim().TrimEnd('.')) != UriHostNameType.Dns)
            errors.Add($"ClusterDomain '{options.ClusterDomain}' is not a DNS name; write it like apps.example.com.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
