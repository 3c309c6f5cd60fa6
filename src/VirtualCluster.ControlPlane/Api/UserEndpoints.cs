using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Users;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Api;

/// <summary>Named users and their tokens (admin only): <c>/v1/users</c>.</summary>
internal static class UserEndpoints
{
    public static void MapUserEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapGet("/users", async (UserDirectory users, CancellationToken ct) =>
            ApiResults.Json((await users.ListAsync(ct)).Select(UserDirectory.ToView).ToList()));
        admin.MapPost("/users", AddAsync);
        admin.MapDelete("/users/{name}", async (string name, UserDirectory users, CancellationToken ct) =>
        {
            var (_, status, error) = await users.RemoveAsync(name, ct);
            return error is null ? Results.NoContent() : ApiResults.Error(status, error);
        });
        admin.MapPost("/users/{name}/tokens", CreateTokenAsync);
    }

    private static async Task<IResult> AddAsync(HttpRequest request, UserDirectory users, CancellationToken ct)
    {
        var (body, error) = await ApiResults.ReadJsonAsync<AddUserRequest>(request, ct);
        if (error is not null) return error;
        var (user, status, problem) = await users.AddAsync(body!.Name, body.Role, ct);
        return problem is not null
            ? ApiResults.Error(status, new ApiError(problem, [new FieldError(status == 400 && !TokenService.IsUserName(body.Name) ? "name" : status == 400 ? "role" : "name", problem)]))
            : ApiResults.Json(UserDirectory.ToView(user!), 201);
    }

    private static async Task<IResult> CreateTokenAsync(string name, HttpRequest request, UserDirectory users, TokenService tokens, CancellationToken ct)
    {
        var (body, error) = await ApiResults.ReadJsonAsync<UserTokenRequest>(request, ct);
        if (error is not null) return error;
        // The stored directory, not the token checks' copy: a user added a moment ago on another control plane counts.
        if ((await users.ListAsync(ct)).FirstOrDefault(u => u.Name == name) is not { } user)
            return ApiResults.Error(404, $"no user named \"{(name.Length <= 64 ? name : name[..64] + "...")}\"; add it with `vcluster user add <name> --role viewer`");
        var role = body!.Role ?? user.Role;
        if (!TokenRoles.IsUserRole(role))
            return ApiResults.Error(400, new ApiError($"\"{role}\" is not a role; use {TokenRoles.Admin}, {TokenRoles.Operator} or {TokenRoles.Viewer}", [new FieldError("role", "unknown role")]));
        if (TokenRoles.Rank(role) > TokenRoles.Rank(user.Role))
            return ApiResults.Error(400, new ApiError($"user \"{name}\" is a {user.Role}; a token for it can be {user.Role} or lower, not {role}", [new FieldError("role", "above the user's role")]));
        if (body.Ttl <= TimeSpan.Zero || body.Ttl > TokenService.MaxUserTokenLifetime)
            return ApiResults.Error(400, new ApiError($"ttl must be positive and at most {TokenService.MaxUserTokenLifetime.TotalDays:0} days, e.g. \"08:00:00\" for 8 hours",
                [new FieldError("ttl", "out of range")]));
        var token = tokens.IssueUserToken(name, role, user.Generation, body.Ttl);
        var principal = (await tokens.ValidateAsync(token)).Principal!;
        return ApiResults.Json(new UserTokenResponse(token, name, role, principal.ExpiresAt!.Value), 201);
    }
}
