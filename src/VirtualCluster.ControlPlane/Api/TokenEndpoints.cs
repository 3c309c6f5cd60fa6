using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Api;

/// <summary>Service tokens (<c>POST /v1/tokens</c>) and the stable URLs added to service views.</summary>
internal static class TokenEndpoints
{
    /// <summary>Service tokens: an operator hands out access to the services it runs.</summary>
    public static void MapTokenEndpoints(this RouteGroupBuilder operate) => operate.MapPost("/tokens", CreateAsync);

    /// <summary>Introspection answers for any token, so it is for admins (and the gateways, which hold an admin token).</summary>
    public static void MapIntrospection(this RouteGroupBuilder admin) => admin.MapPost("/tokens/introspect", IntrospectAsync);

    /// <summary>
    /// Checks a token for a gateway that has no signing key (the standalone gateway checks service tokens with it).
    /// Admin only: it says whether a token is valid, which is worth something to an attacker guessing tokens.
    /// </summary>
    private static async Task<IResult> IntrospectAsync(HttpRequest request, TokenService tokens, CancellationToken ct)
    {
        var (body, error) = await ApiResults.ReadJsonAsync<TokenIntrospectionRequest>(request, ct);
        if (error is not null) return error;
        if (string.IsNullOrWhiteSpace(body!.Token))
            return ApiResults.Error(400, new ApiError("token is required, e.g. {\"token\": \"eyJ...\"}", [new FieldError("token", "is required")]));
        var validation = await tokens.ValidateAsync(body.Token);
        if (!validation.IsValid) return ApiResults.Json(new TokenIntrospection(false, Error: validation.Error));
        var p = validation.Principal;
        return ApiResults.Json(new TokenIntrospection(true, p.Subject, p.Role, p.ExpiresAt, p.Audience ?? tokens.Audience));
    }

    /// <summary>The view with its stable URL filled in from <see cref="ServiceUrlOptions"/>.</summary>
    /// <remarks>Secret values are redacted here too (ClusterService already shows names only): nothing leaves the API with one.</remarks>
    public static ServiceView WithUrl(ServiceView view, ServiceUrlOptions urls) =>
        view with { Spec = Secrets.SecretSealer.Redact(view.Spec), Url = urls.UrlFor(view.Spec.Name) };

    public static ClusterStatus WithUrls(ClusterStatus status, ServiceUrlOptions urls) =>
        status with { Services = [.. status.Services.Select(s => WithUrl(s, urls))] };

    private static async Task<IResult> CreateAsync(HttpRequest request, ClusterService cluster, TokenService tokens,
        IOptions<ServiceUrlOptions> urls, CancellationToken ct)
    {
        var (body, error) = await ApiResults.ReadJsonAsync<ServiceTokenRequest>(request, ct);
        if (error is not null) return error;
        if (string.IsNullOrWhiteSpace(body!.Service))
            return ApiResults.Error(400, new ApiError("service is required: name the service the token opens, e.g. {\"service\": \"hello\", \"ttl\": \"01:00:00\"}",
                [new FieldError("service", "is required")]));
        if (body.Ttl <= TimeSpan.Zero || body.Ttl > TokenService.MaxServiceTokenLifetime)
            return ApiResults.Error(400, new ApiError($"ttl must be positive and at most {TokenService.MaxServiceTokenLifetime.TotalDays:0} days, e.g. \"01:00:00\" for an hour",
                [new FieldError("ttl", "out of range")]));
        if (await cluster.GetServiceViewAsync(body.Service, ct) is not { } view)
            return ApiResults.Error(404, $"no service named \"{body.Service}\"; `vcluster services` lists the deployed ones");

        var token = tokens.IssueServiceToken(body.Service, body.Ttl);
        var principal = (await tokens.ValidateAsync(token)).Principal!;
        return ApiResults.Json(new ServiceTokenResponse(token, body.Service, principal.ExpiresAt!.Value, view.Spec.Access, urls.Value.UrlFor(body.Service)), 201);
    }
}
