using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Alerts;

namespace VirtualCluster.ControlPlane.Api;

/// <summary><c>GET /v1/alerts/rules</c> (viewers): the threshold rules in effect; <c>PUT /v1/alerts/rules</c> (admins): replace the user's rules.</summary>
internal static class AlertRuleEndpoints
{
    public static void MapAlertRuleReads(this RouteGroupBuilder viewer) =>
        viewer.MapGet("/alerts/rules", async (AlertRuleSet rules, CancellationToken ct) => ApiResults.Json(new AlertRulesResponse(await rules.ViewAsync(ct))));

    public static void MapAlertRuleChanges(this RouteGroupBuilder admin) =>
        admin.MapPut("/alerts/rules", async (HttpRequest request, AlertRuleSet rules, CancellationToken ct) =>
        {
            var (text, error) = await ApiResults.ReadTextAsync(request, ct);
            if (error is not null) return error;
            var (read, problem) = AlertRuleReader.Read(text!);
            if (problem is not null) return ApiResults.Error(400, problem);
            await rules.SaveAsync(read!, ct);
            return ApiResults.Json(new AlertRulesResponse(await rules.ViewAsync(ct)));
        });
}
