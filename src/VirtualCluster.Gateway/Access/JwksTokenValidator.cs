using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.Security;

namespace VirtualCluster.Gateway.Access;

/// <summary>
/// Checks service tokens on the gateway itself with the cluster's public keys, read from the control plane's JWK Set
/// (<c>GET /v1/jwks</c>, no token needed), so a standalone gateway holds no secret key and asks nothing per token. The
/// set is read again every <see cref="RefreshEvery"/> (retired keys drop out) and when a token names an unknown key
/// (a key just rotated in; at most once a second). A control plane of an earlier release, with no JWK Set (404), is
/// asked per token instead (<see cref="ControlPlaneTokenValidator"/>).
/// </summary>
internal sealed partial class JwksTokenValidator : IServiceTokenValidator
{
    /// <summary>How old the key set may get before it is read again.</summary>
    public static readonly TimeSpan RefreshEvery = TimeSpan.FromMinutes(1);

    private readonly ControlPlaneReader _reader;
    private readonly ControlPlaneTokenValidator _fallback;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly TokenKeyRing _ring = new();
    private volatile TokenService? _tokens;
    private volatile bool _useFallback;
    private long _fetchedAt;

    public JwksTokenValidator(ControlPlaneReader reader, ControlPlaneTokenValidator fallback, TimeProvider time, ILogger<JwksTokenValidator>? logger = null)
    {
        _reader = reader;
        _fallback = fallback;
        _time = time;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _ring.Refresh = ct => FetchAsync(ct);
    }

    public async Task<TokenValidation> ValidateAsync(string token, CancellationToken cancellationToken = default)
    {
        // Junk from a client costs nothing: only something shaped like a JWT is checked.
        if (token.Length is 0 or > TokenService.MaxTokenLength || token.Split('.').Length != 3 || token.Contains("..", StringComparison.Ordinal))
            return TokenValidation.Failure("token is malformed");
        if (_useFallback) return await _fallback.ValidateAsync(token, cancellationToken).ConfigureAwait(false);
        if (_tokens is null || _time.GetElapsedTime(Interlocked.Read(ref _fetchedAt)) >= RefreshEvery)
        {
            try
            {
                await FetchAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException) when (_tokens is not null)
            {
                // The control plane is away: the keys read last keep serving until it is back.
            }
            if (_useFallback) return await _fallback.ValidateAsync(token, cancellationToken).ConfigureAwait(false);
        }
        return await _tokens!.ValidateAsync(token).ConfigureAwait(false);
    }

    private async Task FetchAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var (set, status) = await _reader.GetAsync<PublicJwkSet>("v1/jwks", null, ct).ConfigureAwait(false);
            if (set is null)
            {
                if (status == 404)
                {
                    Log.NoJwks(_logger);
                    _useFallback = true;
                    return;
                }
                throw new HttpRequestException($"the control plane answered {status} to GET /v1/jwks");
            }
            var keys = new List<(TokenPublicKey, DateTimeOffset?)>();
            foreach (var jwk in set.Keys ?? [])
            {
                if (jwk is { Kty: "EC", Crv: "P-256" } && jwk.Alg is null or TokenSigningKey.Algorithm && jwk.Use is null or "sig"
                    && TokenPublicKey.TryCreate(jwk.Kid, jwk.X, jwk.Y, out var key, out _))
                    keys.Add((key, null));
            }
            _ring.SetPublished(keys);
            if (string.IsNullOrWhiteSpace(set.Cluster))
                throw new HttpRequestException("the control plane's JWK Set names no cluster (the audience service tokens must carry)");
            if (_tokens?.Audience != set.Cluster) _tokens = new TokenService(_ring, timeProvider: _time, audience: set.Cluster);
            Interlocked.Exchange(ref _fetchedAt, _time.GetTimestamp());
            Log.KeysRead(_logger, keys.Count, set.Cluster);
        }
        finally
        {
            _gate.Release();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1303, Level = LogLevel.Debug, Message = "Read {Count} token key(s) of cluster {Cluster} from the control plane's JWK Set")]
        public static partial void KeysRead(ILogger logger, int count, string cluster);

        [LoggerMessage(EventId = 1304, Level = LogLevel.Information, Message = "The control plane has no JWK Set (an earlier release): service tokens are checked by asking it")]
        public static partial void NoJwks(ILogger logger);
    }
}
