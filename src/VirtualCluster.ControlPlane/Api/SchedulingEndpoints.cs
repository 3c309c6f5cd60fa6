using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Api;
using VirtualCluster.ControlPlane.Cluster;

namespace VirtualCluster.ControlPlane;

/// <summary>Placement endpoints: explanations and capacity forecasts (viewers), rebalancing (operators). Mapped by <see cref="ApiEndpoints.MapVirtualClusterApi"/>.</summary>
internal static class SchedulingEndpoints
{
    public static RouteGroupBuilder MapSchedulingReads(this RouteGroupBuilder user)
    {
        user.MapGet("/services/{name}/explain", async (string name, ClusterService cluster, CancellationToken ct) =>
            await cluster.ExplainAsync(name, ct) is { } explanation
                ? ApiResults.Json(explanation)
                : ApiResults.Error(404, $"no service named \"{name}\"; `vcluster services` lists the deployed ones"));
        user.MapGet("/capacity", async (ClusterService cluster, CancellationToken ct) => ApiResults.Json(await cluster.GetCapacityAsync(ct)));
        return user;
    }

    public static RouteGroupBuilder MapSchedulingChanges(this RouteGroupBuilder operate)
    {
        // A dry run changes nothing but is still a POST that can move services with "apply": operators only.
        operate.MapPost("/rebalance", RebalanceAsync);
        return operate;
    }

    private static async Task<IResult> RebalanceAsync(HttpRequest request, ClusterService cluster, CancellationToken ct)
    {
        var body = new RebalanceRequest();
        if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            var (parsed, error) = await ApiResults.ReadJsonAsync<RebalanceRequest>(request, ct);
            if (error is not null) return error;
            body = parsed!;
        }
        var outcome = await cluster.RebalanceAsync(body, ct);
        return outcome.Value is null ? ApiResults.Error(outcome.StatusCode, outcome.Error!) : ApiResults.Json(outcome.Value);
    }
}
