using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Joins;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Api;

/// <summary>Join tokens (admin only): <c>/v1/join-tokens</c> issues, lists and revokes them.</summary>
internal static class JoinTokenEndpoints
{
    private const int MaxDescription = 200;

    public static void MapJoinTokenEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapGet("/join-tokens", async (JoinTokenDirectory joins, CancellationToken ct) =>
            ApiResults.Json((await joins.ListAsync(ct)).Select(JoinTokenDirectory.ToView).ToList()));
        admin.MapPost("/join-tokens", CreateAsync);
        admin.MapDelete("/join-tokens/{id}", async (string id, JoinTokenDirectory joins, CancellationToken ct) =>
        {
            var (token, status, error) = await joins.RevokeAsync(id, ct);
            return error is null ? ApiResults.Json(JoinTokenDirectory.ToView(token!)) : ApiResults.Error(status, error);
        });
    }

    private static async Task<IResult> CreateAsync(HttpRequest request, JoinTokenDirectory joins, TokenService tokens, Tls.ClusterTls tls, TimeProvider time, CancellationToken ct)
    {
        var (body, error) = await ApiResults.ReadJsonAsync<JoinTokenRequest>(request, ct);
        if (error is not null) return error;
        var ttl = body!.Ttl ?? TokenService.DefaultJoinTokenLifetime;
        if (ttl < TimeSpan.FromSeconds(1) || ttl > TokenService.MaxJoinTokenLifetime)
            return ApiResults.Error(400, new ApiError($"ttl must be from 1 second to {TokenService.MaxJoinTokenLifetime.TotalDays:0} days, e.g. \"01:00:00\" for an hour",
                [new FieldError("ttl", "out of range")]));
        if (body.Uses is { } uses && (uses < 1 || uses > JoinTokenDirectory.MaxUses))
            return ApiResults.Error(400, new ApiError($"uses must be from 1 to {JoinTokenDirectory.MaxUses} (1 = single use), or left out for no limit",
                [new FieldError("uses", "out of range")]));
        if (body.Description is { Length: > MaxDescription } || (body.Description?.Any(char.IsControl) ?? false))
            return ApiResults.Error(400, new ApiError($"description must be at most {MaxDescription} characters without control characters",
                [new FieldError("description", "too long or has control characters")]));
        var (token, id) = tokens.IssueJoinToken(ttl, tls.Fingerprint);
        var expires = (await tokens.ValidateAsync(token)).Principal!.ExpiresAt!.Value;
        var record = new JoinTokenRecord(id, time.GetUtcNow(), expires, body.Uses, 0, false, body.Description);
        var (_, status, problem) = await joins.AddAsync(record, ct);
        if (problem is not null) return ApiResults.Error(status, problem);
        return ApiResults.Json(new JoinTokenResponse(token, id, expires, body.Uses, body.Description), 201);
    }
}
