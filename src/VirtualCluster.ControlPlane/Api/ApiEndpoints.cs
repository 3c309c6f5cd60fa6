using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Api;
using VirtualCluster.ControlPlane.Api.Live;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.Monitoring;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane;

/// <summary>Maps the control plane's HTTP API under /v1.</summary>
public static class ApiEndpoints
{
    /// <summary>Maps every /v1 endpoint. People need a viewer, operator or admin token (see <see cref="TokenRoles"/>), agents a machine token (after joining with a join token).</summary>
    public static IEndpointRouteBuilder MapVirtualClusterApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");
        v1.MapGet("/health", () => ApiResults.Json(new { status = "ok" }));
        // Public: a joining agent fetches it and checks its fingerprint against the join token's before trusting it.
        v1.MapGet("/tls/ca", (Tls.ClusterTls tls) => Results.Text(tls.Ca.CertificatePem(), "application/x-pem-file"));

        app.MapJwks(v1);
        // Prometheus scrapes with a viewer token (authorization.credentials_file) and the cluster CA (tls_config.ca_file).
        app.MapPrometheusMetrics("/metrics").AddEndpointFilterFactory((_, next) => ApiAuth.Require(TokenRoles.Viewer, next));
        v1.MapPost("/join", JoinAsync);
        v1.MapWhoAmI();
        v1.MapP2PConfig();
        v1.MapPost("/nodes/{id}/heartbeat", HeartbeatAsync).AddEndpointFilterFactory((_, next) => ApiAuth.Require(TokenRoles.Machine, next));
        v1.MapPost("/nodes/{id}/leave", LeaveAsync).AddEndpointFilterFactory((_, next) => ApiAuth.Require(TokenRoles.Machine, next));
        v1.MapGroup("").AddEndpointFilterFactory((_, next) => ApiAuth.Require(TokenRoles.Machine, next)).MapReplicationEndpoints();
        // A user drains any node; an agent drains only itself (before it shuts down).
        var drain = v1.MapGroup("").AddEndpointFilterFactory((_, next) => ApiAuth.RequireAny([TokenRoles.Operator, TokenRoles.Machine], next))
            .AddEndpointFilterFactory((_, next) => ApiAudit.Filter(next));
        drain.MapPost("/nodes/{name}/drain", DrainAsync);
        var either = v1.MapGroup("").AddEndpointFilterFactory((_, next) => ApiAuth.RequireAny([TokenRoles.Viewer, TokenRoles.Machine], next));
        either.MapGet("/nodes/{name}/drain", async (string name, ClusterService cluster, CancellationToken ct) => Answer(await cluster.GetDrainAsync(name, ct)));
        // The names of the deployed services: an agent gives its instances a local address for each (VC_SERVICE_<NAME>_URL).
        either.MapGet("/service-names", async (ClusterService cluster, CancellationToken ct) =>
            ApiResults.Json((await cluster.ListServiceViewsAsync(ct)).Select(v => v.Spec.Name).Order(StringComparer.Ordinal).ToList()));

        // Viewers read; operators run services; admins manage users and tokens. Every change is audited.
        var viewer = v1.MapGroup("").AddEndpointFilterFactory((_, next) => ApiAuth.Require(TokenRoles.Viewer, next));
        viewer.MapGet("/alerts", (Alerts.AlertEvaluator alerts) =>
        {
            var (firing, resolved) = alerts.View();
            return ApiResults.Json(new AlertsResponse([.. firing.Select(AlertViewOf)], [.. resolved.Select(AlertViewOf)]));
        });
        viewer.MapGet("/status", async (ClusterService cluster, IOptions<ServiceUrlOptions> urls, CancellationToken ct) =>
            ApiResults.Json(TokenEndpoints.WithUrls(await cluster.GetStatusAsync(ct), urls.Value)));
        viewer.MapGet("/nodes", async (ClusterService cluster, CancellationToken ct) => ApiResults.Json(await cluster.ListNodeViewsAsync(ct)));
        viewer.MapGet("/services", async (ClusterService cluster, IOptions<ServiceUrlOptions> urls, Tls.GatewayStore gateways, CancellationToken ct) =>
        {
            var views = await cluster.ListServiceViewsAsync(ct);
            var names = views.Any(v => v.Spec.Domains.Count > 0) ? await gateways.NamesAsync(ct) : null;
            return ApiResults.Json(views.Select(v => TokenEndpoints.WithUrl(names is null ? v : Tls.GatewayStoreEndpoints.WithDomains(v, names), urls.Value)).ToList());
        });
        viewer.MapGet("/services/{name}", async (string name, ClusterService cluster, IOptions<ServiceUrlOptions> urls, Tls.GatewayStore gateways, CancellationToken ct) =>
            await cluster.GetServiceViewAsync(name, ct) is { } view
                ? ApiResults.Json(TokenEndpoints.WithUrl(view.Spec.Domains.Count > 0 ? Tls.GatewayStoreEndpoints.WithDomains(view, await gateways.NamesAsync(ct)) : view, urls.Value))
                : NotFound(name));
        viewer.MapGet("/events", EventsAsync);
        viewer.MapSchedulingReads();
        viewer.MapHistory();
        viewer.MapLiveStream();
        viewer.MapAlertRuleReads();

        var operate = v1.MapGroup("").AddEndpointFilterFactory((_, next) => ApiAuth.Require(TokenRoles.Operator, next))
            .AddEndpointFilterFactory((_, next) => ApiAudit.Filter(next));
        operate.MapPost("/services", DeployAsync);
        operate.MapDelete("/services/{name}", async (string name, ClusterService cluster, CancellationToken ct) =>
            await cluster.RemoveAsync(name, ct) ? Results.NoContent() : NotFound(name));
        // Logs may hold what a service prints about its users, so reading them takes an operator.
        operate.MapGet("/services/{name}/logs", LogsAsync);
        operate.MapDelete("/nodes/{name}/drain", async (string name, ClusterService cluster, CancellationToken ct) => Answer(await cluster.CancelDrainAsync(name, ct)));
        operate.MapSchedulingChanges();
        operate.MapTokenEndpoints();

        var admin = v1.MapGroup("").AddEndpointFilterFactory((_, next) => ApiAuth.Require(TokenRoles.Admin, next))
            .AddEndpointFilterFactory((_, next) => ApiAudit.Filter(next));
        admin.MapIntrospection();
        admin.MapUserEndpoints();
        admin.MapJoinTokenEndpoints();
        admin.MapKeyEndpoints();
        Tls.GatewayCertificateEndpoints.MapGatewayCertificate(admin);
        admin.MapAlertRuleChanges();
        Tls.GatewayStoreEndpoints.MapGatewayStore(v1);
        admin.MapDelete("/nodes/{name}", RemoveNodeAsync);
        return app;
    }

    private static IResult NotFound(string name) =>
        ApiResults.Error(404, $"no service named \"{name}\"; `vcluster services` lists the deployed ones");

    private static async Task<IResult> DeployAsync(HttpRequest request, ClusterService cluster, IOptions<ServiceUrlOptions> urls, CancellationToken ct)
    {
        var (text, error) = await ApiResults.ReadTextAsync(request, ct);
        if (error is not null) return error;
        var outcome = await cluster.DeployAsync(text!, ct);
        return outcome.Error is not null ? ApiResults.Error(outcome.StatusCode, outcome.Error) : ApiResults.Json(TokenEndpoints.WithUrl(outcome.Service!, urls.Value), outcome.StatusCode);
    }

    private static async Task<IResult> JoinAsync(HttpRequest request, ClusterService cluster, TokenService tokens, Joins.JoinTokenDirectory joinTokens,
        Joins.MachineCredentialDirectory machines, Tls.AgentCertificates certificates, IOptions<ControlPlaneOptions> options, CancellationToken ct)
    {
        var (body, error) = await ApiResults.ReadJsonAsync<JoinRequest>(request, ct);
        if (error is not null) return error;
        var validation = await tokens.ValidateAsync(body!.JoinToken);
        if (validation.Principal is null)
            return ApiAuth.Unauthorized(request.HttpContext, $"invalid join token: {validation.Error}; use the join.token file of the control plane's data directory or `vcluster token create --join`");
        if (validation.Principal.Role != TokenRoles.Join)
            return ApiResults.Error(403, $"a {validation.Principal.Role} token is not a join token");
        // A malformed certificate request is refused before a use of the join token is taken.
        if (body.CertificateRequest is not null && !Security.Tls.NodeCertificates.TryReadRequest(body.CertificateRequest, out _, out var csrProblem))
            return ApiResults.Error(400, csrProblem);
        var joinId = validation.Principal.TokenId;
        // A machine an admin removed comes back only with a join token made after the removal.
        if (await joinTokens.FindAsync(joinId, ct) is { } listed && await machines.JoinRefusalAsync(body.Name, listed.CreatedAt, ct) is { } removed)
            return ApiAuth.Forbid(request.HttpContext, removed);
        // One use is taken before the join so two machines racing for a single-use token cannot both get in.
        if (await joinTokens.TakeUseAsync(joinId, ct) is { } refused)
            return ApiAuth.Unauthorized(request.HttpContext, $"{refused}; ask an admin for a new one: `vcluster token create --join --ttl 1h --uses 1`", "join:" + joinId);
        var outcome = await cluster.JoinAsync(body, ct);
        var generation = outcome.Value is { } node ? await machines.RenewAsync(node.Id, node.Name, ct) : null;
        if (outcome.Value is null || generation is null)
        {
            await joinTokens.ReleaseAsync(joinId!, CancellationToken.None);
            return outcome.Value is null ? ApiResults.Error(outcome.StatusCode, outcome.Error!) : ApiResults.Error(503, "the machine credentials changed under too many concurrent writes; join again");
        }
        var certificate = body.CertificateRequest is null ? null : certificates.Issue(body.CertificateRequest, outcome.Value.Id, generation).Certificate;
        return ApiResults.Json(new JoinResponse(outcome.Value.Id, tokens.IssueMachineToken(outcome.Value.Id, generation, MachineLifetime(options.Value)), certificate));
    }

    private static async Task<IResult> HeartbeatAsync(string id, HttpContext context, ClusterService cluster, TokenService tokens,
        Joins.MachineCredentialDirectory machines, Tls.AgentCertificates certificates, IOptions<ControlPlaneOptions> options, TimeProvider time, CancellationToken ct)
    {
        var principal = ApiAuth.Principal(context);
        if (principal.Subject != id)
            return ApiAuth.Forbid(context, $"this machine token belongs to another node, not {id}");
        var (body, error) = await ApiResults.ReadJsonAsync<HeartbeatRequest>(context.Request, ct);
        if (error is not null) return error;
        var outcome = await cluster.HeartbeatAsync(id, body!, ct);
        if (outcome.Value is null) return ApiResults.Error(outcome.StatusCode, outcome.Error!);
        // A fresh credential once half of this one has passed (or for a token that never expires, when they should):
        // a working agent never sees its token expire; a copied one dies after a lifetime.
        // Also as soon as the key that signed it is on its way out (rotated out, or the old HMAC key of an upgraded
        // cluster), so a working agent always holds a token its key's retirement will not kill.
        var lifetime = MachineLifetime(options.Value);
        var answer = outcome.Value;
        var generation = principal.MachineGeneration;
        if (!tokens.Keys.IsCurrentKey(principal.KeyId)
            || (lifetime is { } span && (principal.ExpiresAt is not { } expires || expires - time.GetUtcNow() < span / 2)))
        {
            // A token of an older release has no generation: the node gets one now (its old token dies with this answer).
            generation ??= await machines.RenewAsync(id, (await cluster.FindNodeAsync(id, ct))?.Name ?? id, ct);
            if (generation is not null) answer = answer with { RenewedToken = tokens.IssueMachineToken(id, generation, lifetime) };
        }
        // The agent asks for a new certificate once two thirds of its current one's life are over (or when it has none,
        // which is accepted only while certificates are not required: the filter refused this request otherwise).
        // It is bound to the generation of the token the agent holds after this answer.
        if (body!.CertificateRequest is not null)
        {
            var (certificate, problem) = certificates.Issue(body.CertificateRequest, id, answer.RenewedToken is null ? principal.MachineGeneration : generation);
            if (problem is not null) return ApiResults.Error(400, problem);
            answer = answer with { ClientCertificate = certificate };
        }
        return ApiResults.Json(answer);
    }

    private static TimeSpan? MachineLifetime(ControlPlaneOptions options) =>
        options.MachineTokenLifetime == TimeSpan.Zero ? null : options.MachineTokenLifetime;

    private static async Task<IResult> LogsAsync(string name, string? tail, ClusterService cluster, CancellationToken ct)
    {
        var lines = 100;
        if (tail is not null && (!int.TryParse(tail, out lines) || lines is < 1 or > 10_000))
            return ApiResults.Error(400, "tail must be a whole number from 1 to 10000");
        return await cluster.GetLogsAsync(name, lines, ct) is { } logs ? ApiResults.Json(logs) : NotFound(name);
    }

    /// <summary>An admin removes a node: its machine credential is revoked (everywhere within a second) and what runs there fails over.</summary>
    private static async Task<IResult> RemoveNodeAsync(string name, ClusterService cluster, Joins.MachineCredentialDirectory machines, CancellationToken ct)
    {
        if (await cluster.FindNodeAsync(name, ct) is not { } node)
            return ApiResults.Error(404, $"no node named \"{(name.Length <= 64 ? name : name[..64] + "...")}\"; `vcluster nodes` lists them");
        if (!await machines.RevokeAsync(node.Id, node.Name, ct))
            return ApiResults.Error(503, "the machine credentials changed under too many concurrent writes; try again");
        var left = await cluster.LeaveAsync(node.Id, ct);
        return left.Value is null ? ApiResults.Error(left.StatusCode, left.Error!) : ApiResults.Json(left.Value);
    }

    private static async Task<IResult> LeaveAsync(string id, HttpContext context, ClusterService cluster, CancellationToken ct)
    {
        if (ApiAuth.Principal(context).Subject != id)
            return ApiAuth.Forbid(context, $"this machine token belongs to another node, not {id}");
        return Answer(await cluster.LeaveAsync(id, ct));
    }

    private static async Task<IResult> DrainAsync(string name, HttpContext context, ClusterService cluster, CancellationToken ct)
    {
        var principal = ApiAuth.Principal(context);
        var caller = principal.Role == TokenRoles.Machine ? principal.Subject : null;
        return Answer(await cluster.DrainAsync(name, caller, ct));
    }

    private static IResult Answer<T>(AgentOutcome<T> outcome) where T : class =>
        outcome.Value is null ? ApiResults.Error(outcome.StatusCode, outcome.Error!) : ApiResults.Json(outcome.Value, outcome.StatusCode);

    private static async Task<IResult> EventsAsync(HttpRequest request, ClusterService cluster, CancellationToken ct)
    {
        var (query, error) = EventQueryReader.Read(request.Query);
        return error is not null ? ApiResults.Error(400, error) : ApiResults.Json(await cluster.QueryEventsAsync(query!, ct));
    }

    internal static AlertView AlertViewOf(VirtualCluster.Monitoring.Alerts.Alert a) =>
        new(a.Name, a.Labels.GetValueOrDefault("severity") ?? "", a.Status, a.Labels, a.Annotations.GetValueOrDefault("summary") ?? "",
            a.Annotations.GetValueOrDefault("description") ?? "", a.StartsAt, a.EndsAt);
}
