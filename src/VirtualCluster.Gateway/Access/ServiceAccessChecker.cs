using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using VirtualCluster.Security;

namespace VirtualCluster.Gateway.Access;

/// <summary>
/// Decides, before the gateway forwards a request, whether it may reach a service, and removes the credentials it
/// used so the service never receives them. Thread-safe; one instance serves every request.
/// </summary>
/// <remarks>
/// For a <see cref="ServiceAccess.Token"/> service the request must carry a service token for that service
/// (<see cref="TokenService.IssueServiceToken"/>): in <c>Authorization: Bearer</c>, in the cookie, or in the query
/// parameter, which is exchanged for the cookie with a redirect to the same URL without it (so the token leaves the
/// address bar and the history). Answers: 401 with <c>WWW-Authenticate: Bearer</c> for a missing, malformed, expired,
/// tampered, unsigned or other cluster's token; 403 for a valid token of another service or a token that is not a
/// service token. Public services pass untouched, except that a stale access cookie is removed.
/// </remarks>
public sealed partial class ServiceAccessChecker
{
    /// <summary>Meter name for <c>vc.gateway.access.decisions</c> (tags: outcome).</summary>
    public const string MeterName = "VirtualCluster.Gateway.Access";

    private readonly IServiceTokenValidator tokens;
    private readonly ServiceAccessOptions options;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly Counter<long> decisions;
    private readonly RefusedTokenLimiter limiter;

    /// <summary>Creates a checker that validates tokens with <paramref name="tokens"/> (the cluster's key and id).</summary>
    public ServiceAccessChecker(TokenService tokens, IOptions<ServiceAccessOptions> options, TimeProvider? time = null,
        ILogger<ServiceAccessChecker>? logger = null, IMeterFactory? meters = null)
        : this(new TokenServiceValidator(tokens ?? throw new ArgumentNullException(nameof(tokens))), options, time, logger, meters)
    {
    }

    /// <summary>Creates a checker that validates tokens with <paramref name="tokens"/> (in-process, or by asking the control plane).</summary>
    public ServiceAccessChecker(IServiceTokenValidator tokens, IOptions<ServiceAccessOptions> options, TimeProvider? time = null,
        ILogger<ServiceAccessChecker>? logger = null, IMeterFactory? meters = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(options);
        this.tokens = tokens;
        this.options = options.Value;
        // Built directly (not through AddServiceAccess), the options were not validated yet; the limiter needs sane limits.
        if (new ServiceAccessOptionsValidator().Validate(null, this.options) is { Failed: true } invalid)
            throw new OptionsValidationException(nameof(ServiceAccessOptions), typeof(ServiceAccessOptions), invalid.Failures);
        this.time = time ?? TimeProvider.System;
        this.logger = logger ?? NullLogger<ServiceAccessChecker>.Instance;
        var meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        limiter = new RefusedTokenLimiter(this.options.RefusedTokensPerSecond, this.options.RefusedTokenBurst, this.options.MaxTrackedAddresses, this.time);
        decisions = meter.CreateCounter<long>("vc.gateway.access.decisions", description: "Access checks of token services by outcome");
    }

    /// <summary>
    /// Checks <paramref name="context"/>'s request for <paramref name="service"/>. True: forward it (credentials
    /// removed). False: the response is written (401, 403, or the redirect of the cookie exchange); do not forward.
    /// </summary>
    public async Task<bool> CheckAsync(HttpContext context, string service, ServiceAccess access)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentException.ThrowIfNullOrWhiteSpace(service);
        var request = context.Request;
        if (access == ServiceAccess.Public)
        {
            AccessCredentials.StripCookie(request, options.CookieName);
            return true;
        }

        var (token, source) = AccessCredentials.Find(request, options, out var ambiguous);
        AccessCredentials.Strip(request, options);
        if (source == AccessCredentials.Source.None)
            return await RefuseAsync(context, service, 401, null,
                $"The service \"{service}\" needs an access token. Create one with `vcluster token create --service {service} --ttl 1h`, "
                + $"then send it as `Authorization: Bearer <token>` or open this URL once with ?{options.QueryParameter}=<token>.");
        if (ambiguous)
            return await RefuseAsync(context, service, 401, "invalid_request", "The request carries several different access tokens; send exactly one.");

        // Before any parsing or signature work: an address that keeps sending bad tokens is turned away cheaply.
        var client = context.Connection.RemoteIpAddress;
        if (!limiter.TryTake(client, out var retryAfter))
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return await RefuseAsync(context, service, 429, null,
                $"Too many refused access tokens from your address (more than {options.RefusedTokenBurst} at once, then {options.RefusedTokensPerSecond:0.##} per second); "
                + $"wait {seconds} s, and send a token made with `vcluster token create --service {service}`.");
        }
        TokenValidation validation;
        try
        {
            validation = await tokens.ValidateAsync(token!, context.RequestAborted).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            limiter.GiveBack(client); // not the client's fault
            // Unchecked is refused: a control plane that cannot be asked never means "let it through".
            context.Response.Headers.RetryAfter = "5";
            return await RefuseAsync(context, service, 503, null, $"The access token cannot be checked right now ({e.Message}); try again in a few seconds.");
        }
        if (!validation.IsValid)
        {
            // A cookie that no longer works is removed, so the browser does not keep presenting it.
            if (source == AccessCredentials.Source.Cookie) DeleteCookie(context);
            return await RefuseAsync(context, service, 401, "invalid_token",
                $"The access token was refused: {validation.Error}. Create a new one with `vcluster token create --service {service}`.");
        }
        limiter.GiveBack(client); // a valid token (even one for another service) costs the client nothing
        if (validation.Principal.Service != service)
        {
            var what = validation.Principal.Service is { } other ? $"a token for the service \"{other}\"" : $"a {validation.Principal.Role} token";
            return await RefuseAsync(context, service, 403, "insufficient_scope",
                $"This is {what}; the service \"{service}\" needs a token with scope {TokenService.ServiceScope(service)}.");
        }

        if (source == AccessCredentials.Source.Query && (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)))
        {
            SetCookie(context, token!, validation.Principal.ExpiresAt!.Value);
            context.Response.StatusCode = StatusCodes.Status302Found;
            context.Response.Headers.Location = $"{request.PathBase}{request.Path}{request.QueryString}";
            context.Response.Headers.CacheControl = "no-store";
            decisions.Add(1, new KeyValuePair<string, object?>("outcome", "exchanged"));
            Log.Exchanged(logger, service);
            return false;
        }
        decisions.Add(1, new KeyValuePair<string, object?>("outcome", "allowed"));
        return true;
    }

    private void SetCookie(HttpContext context, string token, DateTimeOffset expiresAt)
    {
        var maxAge = expiresAt - time.GetUtcNow();
        context.Response.Headers.Append(HeaderNames.SetCookie, new SetCookieHeaderValue(options.CookieName, token)
        {
            Path = "/",
            HttpOnly = true,
            Secure = context.Request.IsHttps,
            SameSite = Microsoft.Net.Http.Headers.SameSiteMode.Lax,
            MaxAge = maxAge > TimeSpan.Zero ? maxAge : TimeSpan.Zero,
        }.ToString());
    }

    private void DeleteCookie(HttpContext context) =>
        context.Response.Headers.Append(HeaderNames.SetCookie, new SetCookieHeaderValue(options.CookieName, "")
        {
            Path = "/",
            HttpOnly = true,
            Secure = context.Request.IsHttps,
            SameSite = Microsoft.Net.Http.Headers.SameSiteMode.Lax,
            MaxAge = TimeSpan.Zero,
        }.ToString());

    private async Task<bool> RefuseAsync(HttpContext context, string service, int status, string? error, string message)
    {
        var response = context.Response;
        response.StatusCode = status;
        // RFC 6750 §3: the challenge names the realm and, when a token was sent, why it failed.
        if (status != 429) response.Headers.WWWAuthenticate = $"Bearer realm=\"{service}\"" + (error is null ? "" : $", error=\"{error}\"");
        response.Headers.CacheControl = "no-store";
        response.ContentType = "text/plain; charset=utf-8";
        decisions.Add(1, new KeyValuePair<string, object?>("outcome", status switch { 401 => "unauthorized", 403 => "forbidden", 429 => "limited", _ => "unavailable" }));
        Log.Refused(logger, service, status, message);
        await response.WriteAsync(message + "\n", context.RequestAborted).ConfigureAwait(false);
        return false;
    }
}
