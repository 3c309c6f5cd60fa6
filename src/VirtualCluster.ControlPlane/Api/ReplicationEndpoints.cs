using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using VirtualCluster.Api;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Api;

/// <summary>
/// <c>POST /v1/replication/verify</c>: an agent's replica server asks whether a token a peer presented is the machine
/// token of a node of this cluster (agents hold no signing keys). Machines only, and it answers only "a machine of
/// this cluster, node X" or "no": it says nothing about other kinds of tokens.
/// </summary>
internal static class ReplicationEndpoints
{
    private const int MaxTokenLength = 16 * 1024;

    public static void MapReplicationEndpoints(this RouteGroupBuilder machines)
    {
        machines.MapPost("/replication/verify", VerifyAsync);
        // A holder asks which of its replicas are still wanted (its own node only: the token says which).
        machines.MapGet("/replication/keep", async (HttpContext context, VirtualCluster.ControlPlane.Cluster.ClusterService cluster, CancellationToken ct) =>
            ApiResults.Json(new ReplicaKeepAnswer(await cluster.ReplicasToKeepAsync(ApiAuth.Principal(context).Subject, ct))));
    }

    private static async Task<IResult> VerifyAsync(HttpRequest request, TokenService tokens, VirtualCluster.Store.IClusterStore store, CancellationToken ct)
    {
        var (body, error) = await ApiResults.ReadJsonAsync<ReplicaTokenCheck>(request, ct);
        if (error is not null) return error;
        if (string.IsNullOrWhiteSpace(body!.Token) || body.Token.Length > MaxTokenLength)
            return ApiResults.Error(400, new ApiError($"token is required (at most {MaxTokenLength} characters), e.g. {{\"token\": \"eyJ...\"}}", [new FieldError("token", "is required")]));
        var validation = await tokens.ValidateAsync(body.Token);
        if (validation.Principal is not { } principal) return ApiResults.Json(new ReplicaTokenAnswer(false, Error: "the token is not valid here"));
        if (principal.Role != TokenRoles.Machine) return ApiResults.Json(new ReplicaTokenAnswer(false, Error: "only agents (machine tokens) may push replicas"));
        if (await store.FindNodeAsync(principal.Subject, ct) is not { } node || node.Id != principal.Subject)
            return ApiResults.Json(new ReplicaTokenAnswer(false, Error: "the token's node is not registered in this cluster"));
        return ApiResults.Json(new ReplicaTokenAnswer(true, node.Id));
    }
}
