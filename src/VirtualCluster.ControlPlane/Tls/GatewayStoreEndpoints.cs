using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Api;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Tls;

/// <summary>
/// <c>/v1/gateway-store/...</c> (admin tokens, which is what gateways hold): the certificates, ACME account key, order
/// leases and domain checks gateways share through the cluster store (<see cref="GatewayStore"/>). Private keys are
/// answered only to the cluster's own admin tokens, never to a token of a named user (a person), and never logged.
/// The prefix is not <c>/v1/gateway/</c>: that is the gateway's own (its <c>/v1/gateway/certificates</c> lists what it
/// serves), and the web host serves both.
/// </summary>
internal static class GatewayStoreEndpoints
{
    private const int MaxPem = 64 * 1024;
    private const int MaxChecks = 1000;

    public static void MapGatewayStore(this RouteGroupBuilder v1)
    {
        var gateways = v1.MapGroup("/gateway-store").AddEndpointFilterFactory((_, next) => ApiAuth.Require(TokenRoles.Admin, next));
        gateways.MapGet("/certificates/{name}", async (string name, HttpContext http, GatewayStore store, CancellationToken ct) =>
        {
            if (NameProblem(name) is { } problem) return ApiResults.Error(400, problem);
            if (PersonRefusal(http) is { } refused) return refused;
            return await store.GetCertificateAsync(name.ToLowerInvariant(), ct) is { } stored
                ? ApiResults.Json(stored) : ApiResults.Error(404, $"no certificate for {name} is stored; a gateway orders one when the name is served");
        });
        gateways.MapPut("/certificates/{name}", async (string name, HttpRequest request, GatewayStore store, CancellationToken ct) =>
        {
            if (NameProblem(name) is { } problem) return ApiResults.Error(400, problem);
            var (body, error) = await ApiResults.ReadJsonAsync<StoredCertificate>(request, ct);
            if (error is not null) return error;
            var errors = new List<FieldError>();
            if (string.IsNullOrWhiteSpace(body!.ChainPem) || body.ChainPem.Length > MaxPem) errors.Add(new FieldError("chainPem", $"is required: the PEM chain, leaf first (at most {MaxPem} characters)"));
            if (string.IsNullOrWhiteSpace(body.PrivateKeyPem) || body.PrivateKeyPem.Length > MaxPem) errors.Add(new FieldError("privateKeyPem", $"is required: the leaf's PEM private key (at most {MaxPem} characters)"));
            if (errors.Count > 0) return ApiResults.Error(400, new ApiError($"the certificate is not valid: {errors[0].Field} {errors[0].Message}", errors));
            var (notAfter, refusal, conflict) = await store.PutCertificateAsync(name.ToLowerInvariant(), body.ChainPem, body.PrivateKeyPem, ct);
            if (refusal is not null) return ApiResults.Error(conflict ? 409 : 400, refusal);
            return ApiResults.Json(new { name = name.ToLowerInvariant(), notAfter });
        }).AddEndpointFilterFactory((_, next) => ApiAudit.Filter(next));
        gateways.MapPost("/leases/{name}", async (string name, HttpRequest request, GatewayStore store, CancellationToken ct) =>
        {
            if (NameProblem(name) is { } problem) return ApiResults.Error(400, problem);
            var (body, error) = await ApiResults.ReadJsonAsync<OrderLeaseRequest>(request, ct);
            if (error is not null) return error;
            if (string.IsNullOrWhiteSpace(body!.Holder) || body.Holder.Length > 63)
                return ApiResults.Error(400, new ApiError("holder is required: the gateway's name (1-63 characters)", [new FieldError("holder", "is required")]));
            if (body.Seconds != 0 && body.Seconds is < 10 or > 900)
                return ApiResults.Error(400, new ApiError("seconds must be 10-900 (how long the order may take), or 0 to release", [new FieldError("seconds", "must be 10-900 or 0")]));
            return ApiResults.Json(await store.LeaseAsync(name.ToLowerInvariant(), body.Holder, body.Seconds, ct));
        });
        gateways.MapPost("/account", async (HttpContext http, GatewayStore store, CancellationToken ct) =>
        {
            if (PersonRefusal(http) is { } refused) return refused;
            var (body, error) = await ApiResults.ReadJsonAsync<StoredAccountKey>(http.Request, ct);
            if (error is not null) return error;
            if (string.IsNullOrWhiteSpace(body!.PrivateKeyPem) || body.PrivateKeyPem.Length > MaxPem || !body.PrivateKeyPem.Contains("PRIVATE KEY", StringComparison.Ordinal))
                return ApiResults.Error(400, new ApiError("privateKeyPem is required: a PEM private key for the ACME account", [new FieldError("privateKeyPem", "is required")]));
            return ApiResults.Json(new StoredAccountKey(await store.AccountKeyAsync(body.PrivateKeyPem, ct)));
        });
        gateways.MapPost("/domains", async (HttpRequest request, GatewayStore store, CancellationToken ct) =>
        {
            var (body, error) = await ApiResults.ReadJsonAsync<DomainReport>(request, ct);
            if (error is not null) return error;
            if (string.IsNullOrWhiteSpace(body!.Gateway) || body.Gateway.Length > 63)
                return ApiResults.Error(400, new ApiError("gateway is required: the reporting gateway's name", [new FieldError("gateway", "is required")]));
            if (body.Results is null || body.Results.Count > MaxChecks)
                return ApiResults.Error(400, new ApiError($"results must list at most {MaxChecks} checks", [new FieldError("results", $"at most {MaxChecks}")]));
            var bad = body.Results.Select((c, i) => (c, i)).FirstOrDefault(x => x.c is null || NameProblem(x.c.Domain) is not null || x.c.Problem is { Length: > 500 });
            if (bad.c is not null || body.Results.Any(c => c is null))
                return ApiResults.Error(400, new ApiError($"results[{bad.i}] is not a domain check", [new FieldError($"results[{bad.i}]", "domain must be a DNS name; problem at most 500 characters")]));
            await store.RecordChecksAsync(body.Gateway, body.Results.Select(c => c with { Domain = c.Domain.ToLowerInvariant() }).ToList(), ct);
            return Results.NoContent();
        });
    }

    /// <summary>The view with its custom domains' state: verified by a gateway, and the certificate once there is one.</summary>
    public static ServiceView WithDomains(ServiceView view, IReadOnlyDictionary<string, GatewayStore.NameStatus> names) =>
        view.Spec.Domains.Count == 0 ? view : view with
        {
            Domains = [.. view.Spec.Domains.Select(d => names.GetValueOrDefault(d) is { } s
                ? new DomainView(d, s.Verified == true, s.CheckedAt, s.Verified == true ? null : s.Problem, s.NotAfter, s.NotAfter is not null ? $"https://{d}/" : null)
                : new DomainView(d, false, Problem: "no gateway has checked it yet"))],
        };

    /// <summary>Keys go to gateways, which hold the cluster's admin token; a named user's admin token is a person's.</summary>
    private static IResult? PersonRefusal(HttpContext http) =>
        ApiAuth.Principal(http).User is { } user
            ? ApiAuth.Forbid(http, $"private keys are given to gateways only: user \"{user}\"'s token cannot read them; a gateway uses the cluster's admin token (admin.token)")
            : null;

    /// <summary>Why <paramref name="name"/> is not a certificate name (a DNS name, or <c>*.</c> and one), or null.</summary>
    internal static string? NameProblem(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 253) return "the name must be a DNS name like app.example.com or *.apps.example.com (at most 253 characters)";
        var rest = name.StartsWith("*.", StringComparison.Ordinal) ? name[2..] : name;
        foreach (var label in rest.Split('.'))
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-' || !label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
                return $"\"{(name.Length > 80 ? name[..80] : name)}\" is not a DNS name like app.example.com or *.apps.example.com";
        return null;
    }
}
