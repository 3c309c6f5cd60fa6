using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using VirtualCluster.Acme;

namespace VirtualCluster.Gateway.Tls;

/// <summary>
/// In front of the proxy: answers ACME HTTP-01 tokens for any host (the CA asks for http://&lt;service&gt;.&lt;domain&gt;/,
/// which would otherwise be proxied), redirects plain-HTTP service requests to https when enabled, and adds HSTS.
/// </summary>
internal sealed class GatewayTlsMiddleware(RequestDelegate next, Http01Challenges http01, IOptions<GatewayTlsOptions> tls, IOptions<GatewayOptions> gateway,
    GatewayCertificates certificates, IServiceRouteTable routes)
{
    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        if (path.StartsWith(Http01Challenges.PathPrefix, StringComparison.Ordinal) && HttpMethods.IsGet(request.Method))
        {
            var token = path[Http01Challenges.PathPrefix.Length..];
            if (http01.TryGetResponse(token, out var keyAuthorization))
            {
                context.Response.ContentType = "application/octet-stream";
                return context.Response.WriteAsync(keyAuthorization);
            }
        }
        var o = tls.Value;
        if (!request.IsHttps && o.RedirectHttp
            && (HostNames.Classify(request.Host.Host, gateway.Value.Domain, out _, out _) == HostNames.Kind.Service
                || (certificates.Get(request.Host.Host) is not null && routes.FindByDomain(request.Host.Host) is not null))) // a custom domain, once it has its certificate
        {
            var port = o.HttpsPort == 443 ? "" : $":{o.HttpsPort}";
            context.Response.StatusCode = StatusCodes.Status308PermanentRedirect;
            context.Response.Headers.Location = $"https://{request.Host.Host}{port}{request.PathBase}{request.Path}{request.QueryString}";
            return Task.CompletedTask;
        }
        if (request.IsHttps && o.HstsMaxAge > TimeSpan.Zero)
            context.Response.Headers.StrictTransportSecurity = $"max-age={(long)o.HstsMaxAge.TotalSeconds}";
        return next(context);
    }
}
