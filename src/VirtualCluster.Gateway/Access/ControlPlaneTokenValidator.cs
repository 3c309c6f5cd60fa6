using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using VirtualCluster.Api;
using VirtualCluster.Security;

namespace VirtualCluster.Gateway.Access;

/// <summary>
/// Checks service tokens by asking the control plane (POST /v1/tokens/introspect with the gateway's admin token), so a
/// gateway on another machine needs no signing key. A valid answer is kept until the token expires or for
/// <see cref="CacheFor"/>, whichever is sooner; refusals are kept briefly, so a client repeating a bad token does not
/// turn into a request to the control plane each time.
/// </summary>
internal sealed class ControlPlaneTokenValidator(ControlPlaneReader reader, IOptions<GatewayOptions> options, TimeProvider time) : IServiceTokenValidator
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RefusalCacheFor = TimeSpan.FromSeconds(5);
    private const int MaxCached = 10_000;
    private readonly ConcurrentDictionary<string, (TokenValidation Result, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    public async Task<TokenValidation> ValidateAsync(string token, CancellationToken cancellationToken = default)
    {
        // Only something shaped like a JWT (three dot-separated parts) is worth a request to the control plane, so junk
        // from a client costs the gateway nothing.
        if (token.Length is 0 or > TokenService.MaxTokenLength || token.Split('.').Length != 3 || token.Contains("..", StringComparison.Ordinal))
            return TokenValidation.Failure("token is malformed");
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(token, out var hit) && hit.Until > now) return hit.Result;

        var (answer, status) = await reader.PostAsync<TokenIntrospection>("v1/tokens/introspect", new TokenIntrospectionRequest(token),
            options.Value.ControlPlaneToken, cancellationToken).ConfigureAwait(false);
        if (answer is null)
            throw new HttpRequestException(status is 401 or 403
                ? "the control plane refused the gateway's own token; start the gateway with an admin token (--token)"
                : $"the control plane answered {status} to a token check");
        TokenValidation result;
        DateTimeOffset until;
        if (answer.Active && answer.Subject is { } subject && answer.Role is { } role)
        {
            result = TokenValidation.Success(new TokenPrincipal(subject, role, answer.ExpiresAt) { Audience = answer.Audience });
            until = answer.ExpiresAt is { } expires && expires < now + CacheFor ? expires : now + CacheFor;
        }
        else
        {
            result = TokenValidation.Failure(answer.Error ?? "token was refused");
            until = now + RefusalCacheFor;
        }
        if (_cache.Count >= MaxCached) _cache.Clear();
        _cache[token] = (result, until);
        return result;
    }
}
