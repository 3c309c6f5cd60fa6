using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Keys;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Api;

/// <summary>
/// The token keys: the public JWK Set for anyone who validates the cluster's tokens (<c>GET /v1/jwks</c> and
/// <c>/.well-known/jwks.json</c>, no token needed: public keys are public), and for admins the key list and an
/// on-demand rotation.
/// </summary>
internal static class KeyEndpoints
{
    public static void MapJwks(this IEndpointRouteBuilder app, RouteGroupBuilder v1)
    {
        v1.MapGet("/jwks", Jwks);
        app.MapGet("/.well-known/jwks.json", Jwks);
    }

    public static void MapKeyEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapGet("/keys", async (TokenKeyManager keys, IOptions<TokenKeyOptions> options, TimeProvider time, CancellationToken ct) =>
            ApiResults.Json(View(await keys.ReadAsync(ct), keys, options.Value, time.GetUtcNow())));
        admin.MapPost("/keys/rotate", RotateAsync);
        admin.MapPost("/keys/{kid}/retire", RetireAsync);
    }

    private static IResult Jwks(HttpContext context, TokenService tokens, TimeProvider time)
    {
        // Validators cache the set; a minute is well inside a key's overlap, and unknown kids make them fetch again.
        context.Response.Headers.CacheControl = "public, max-age=60";
        var keys = tokens.Keys.ActiveKeys(time.GetUtcNow()).Select(k => k.ToJwk()).ToList();
        return Results.Json(new PublicJwkSet(keys, tokens.Audience), contentType: "application/jwk-set+json");
    }

    private static async Task<IResult> RotateAsync(TokenKeyManager keys, TokenService tokens, Joins.JoinTokenDirectory joins, VirtualCluster.Store.IClusterStore store,
        Tls.ClusterTls tls, IOptions<TokenKeyOptions> options, IOptions<ControlPlaneOptions> controlPlane, TimeProvider time, CancellationToken ct)
    {
        TokenKeySet set;
        try
        {
            set = await keys.RotateAsync(everywhere: true, ct);
        }
        catch (InvalidOperationException e)
        {
            return ApiResults.Error(503, e.Message);
        }
        // The bootstrap tokens never expire: if this control plane's old key signed them, issue them again now.
        await BootstrapTokens.EnsureAsync(store, tokens, joins, controlPlane.Value.DataDirectory, tls.Fingerprint, ct);
        return ApiResults.Json(View(set, keys, options.Value, time.GetUtcNow()));
    }

    private static async Task<IResult> RetireAsync(string kid, TokenKeyManager keys, TokenService tokens, Joins.JoinTokenDirectory joins, VirtualCluster.Store.IClusterStore store,
        Tls.ClusterTls tls, IOptions<TokenKeyOptions> options, IOptions<ControlPlaneOptions> controlPlane, TimeProvider time, CancellationToken ct)
    {
        if (kid.Length > 100 || kid.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
            return ApiResults.Error(400, "The key id is not a key id (base64url, as `vcluster keys list` shows it).");
        TokenKeySet? set;
        try
        {
            set = await keys.RetireAsync(kid, ct);
        }
        catch (InvalidOperationException e)
        {
            return ApiResults.Error(503, e.Message);
        }
        if (set is null) return ApiResults.Error(404, $"No published key has the id \"{kid}\"; `vcluster keys list` shows the keys.");
        // The bootstrap tokens never expire: if the retired key signed them, issue them again now.
        await BootstrapTokens.EnsureAsync(store, tokens, joins, controlPlane.Value.DataDirectory, tls.Fingerprint, ct);
        return ApiResults.Json(View(set, keys, options.Value, time.GetUtcNow()));
    }

    private static TokenKeysResponse View(TokenKeySet set, TokenKeyManager keys, TokenKeyOptions options, DateTimeOffset now) =>
        new([.. set.Keys.OrderBy(k => k.Created).Select(k => new TokenKeyView(k.Kid, k.Created, k.RetireAfter,
                k.RetireAfter is null ? "signing" : now < k.RetireAfter ? "retiring" : "retired", k.Kid == keys.Ring.SigningKeyId))],
            options.RotateEvery, set.RotateRequestedAt, set.LegacyUntil);
}
