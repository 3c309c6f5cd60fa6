using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Tls;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.HighAvailability;

/// <summary>
/// Puts <see cref="LeaderForwarding"/> first in the request pipeline, so hosts need no change beyond
/// <c>AddControlPlaneHighAvailability</c>.
/// </summary>
internal sealed class LeaderForwardingStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseMiddleware<LeaderForwarding>();
        next(app);
    };
}

/// <summary>
/// Lets every control plane answer the /v1 API: the leader serves it; a follower forwards each request to the
/// leader (method, path, headers including the bearer token, body, and the client certificate the caller presented) and
/// relays the answer, so agents and the CLI
/// may talk to any control plane. <c>/v1/health</c> is answered locally, and <c>GET /v1/leader</c> tells who leads.
/// While no leader is known (an election is under way) the answer is 503 with Retry-After.
/// </summary>
public sealed partial class LeaderForwarding(RequestDelegate next, ControlPlaneLeadership leadership, IHttpClientFactory clients,
    IOptions<HighAvailabilityOptions> options, ILogger<LeaderForwarding> logger)
{
    /// <summary>Name of the HTTP client used to forward (configure it with AddHttpClient for TLS).</summary>
    public const string HttpClientName = "VirtualCluster.ControlPlane.Forwarding";

    /// <summary>Header a follower adds to forwarded requests; a request carrying it is never forwarded again.</summary>
    public const string ForwardedHeader = "X-VirtualCluster-Forwarded-By";

    /// <summary>Header naming the control plane that answered.</summary>
    public const string ServedByHeader = "X-VirtualCluster-Served-By";

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer", "Host",
    };

    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.Equals("/v1/leader", StringComparison.Ordinal) && HttpMethods.IsGet(context.Request.Method))
        {
            var leader = leadership.Leader;
            await Json(context, 200, new LeaderView(leadership.Self, leader?.Value, leader?.Token ?? 0, leadership.IsLeader));
            return;
        }
        if (!path.StartsWithSegments("/v1", StringComparison.Ordinal) || path.Equals("/v1/health", StringComparison.Ordinal))
        {
            await next(context);
            return;
        }
        if (leadership.IsLeader)
        {
            context.Response.Headers[ServedByHeader] = leadership.Self;
            try
            {
                await next(context);
            }
            catch (NotLeaderException e) when (!context.Response.HasStarted)
            {
                await Unavailable(context, $"this control plane stopped leading while answering ({e.Message}); retry");
            }
            return;
        }
        var target = leadership.Leader;
        if (target is null || target.Value == leadership.Self)
        {
            await Unavailable(context, "no control plane leads right now (an election is under way); retry in a moment");
            return;
        }
        if (context.Request.Headers.ContainsKey(ForwardedHeader))
        {
            await Unavailable(context, $"forwarded here by {context.Request.Headers[ForwardedHeader]}, but {leadership.Self} does not lead either; retry");
            return;
        }
        await ForwardAsync(context, target.Value);
    }

    private async Task ForwardAsync(HttpContext context, string leaderUrl)
    {
        var request = context.Request;
        var uri = new Uri(new Uri(leaderUrl.EndsWith('/') ? leaderUrl : leaderUrl + "/"), request.Path.Value!.TrimStart('/') + request.QueryString);
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), uri);
        if (request.ContentLength > 0 || request.Headers.ContainsKey("Transfer-Encoding"))
            message.Content = new StreamContent(request.Body);
        foreach (var (name, values) in request.Headers)
        {
            // A client's own copy of the certificate header is never passed on: only what this connection presented.
            if (HopByHop.Contains(name) || name.Equals(AgentCertificates.ForwardedCertificateHeader, StringComparison.OrdinalIgnoreCase)) continue;
            if (!message.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values) && message.Content is not null)
                message.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
        }
        message.Headers.TryAddWithoutValidation(ForwardedHeader, leadership.Self);
        // The agent's TLS ends here: its client certificate goes on in a header, which the leader believes only
        // because this connection presents a control plane's certificate (see AgentCertificates).
        message.Headers.TryAddWithoutValidation(AgentCertificates.ForwardedCertificateHeader, AgentCertificates.ForwardedValue(context));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(options.Value.ForwardTimeout);
        HttpResponseMessage response;
        try
        {
            response = await clients.CreateClient(HttpClientName).SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
        {
            Log.ForwardFailed(logger, leaderUrl, e.Message);
            if (IsSafeToRetry(request.Method, e))
            {
                await Unavailable(context, $"the leader at {leaderUrl} does not answer ({e.Message}); a new leader takes over within {options.Value.LeaseTtl.TotalSeconds:0.#} s if it is gone");
            }
            else
            {
                // 503 tells clients "not done, send it again": not true of a change the leader may have received.
                await Json(context, (int)HttpStatusCode.BadGateway, new ApiError(
                    $"the leader at {leaderUrl} failed while handling this {request.Method} ({e.Message}); it may have been carried out: check (e.g. `vcluster status`) before sending it again"));
            }
            return;
        }
        using (response)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                if (!HopByHop.Contains(name)) context.Response.Headers[name] = values.ToArray();
            }
            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
        }
    }

    /// <summary>
    /// Whether a client may resend a request whose forwarding failed: reads always; changes only when the
    /// connection to the leader was never made, so the leader cannot have seen them.
    /// </summary>
    internal static bool IsSafeToRetry(string method, Exception failure) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method)
        || failure is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError };

    private static Task Unavailable(HttpContext context, string message)
    {
        context.Response.Headers.RetryAfter = "1";
        return Json(context, (int)HttpStatusCode.ServiceUnavailable, new ApiError(message));
    }

    private static async Task Json<T>(HttpContext context, int status, T value)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, VirtualClusterJson.Options, context.RequestAborted);
    }
}

/// <summary>Answer of GET /v1/leader.</summary>
/// <param name="Self">The control plane that answered.</param>
/// <param name="Leader">API URL of the leader, or null while there is none.</param>
/// <param name="Token">The leader's fencing token (0 when none).</param>
/// <param name="IsLeader">True when the answering control plane leads.</param>
public sealed record LeaderView(string Self, string? Leader, long Token, bool IsLeader);
