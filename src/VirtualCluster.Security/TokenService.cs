using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace VirtualCluster.Security;

/// <summary>
/// Issues and validates the cluster's JWTs: ES256 signatures by the keys of a <see cref="TokenKeyRing"/> (each token
/// names its key in the <c>kid</c> header), see <see cref="ChooseKeyAsync"/> for what is accepted.
/// Thread-safe: one instance can serve every request.
/// </summary>
public sealed partial class TokenService
{
    /// <summary>Issuer used when none is given.</summary>
    public const string DefaultIssuer = "virtualcluster";

    /// <summary>Size in bytes of keys made by <see cref="CreateKey"/> (a cluster's pre-ES256 HMAC key, the secrets key), and the minimum accepted size.</summary>
    public const int KeySize = 32;

    // Our tokens are a few hundred characters; anything far larger is garbage and not worth parsing.
    /// <summary>Longest token accepted (16 KiB); longer input is refused before any parsing.</summary>
    public const int MaxTokenLength = 16 * 1024;
    private const string RoleClaim = "role";
    private static readonly TimeSpan AllowedClockSkew = TimeSpan.FromMinutes(1);

    private readonly JsonWebTokenHandler handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly TokenValidationParameters parameters;
    private readonly TimeProvider timeProvider;

    /// <summary>Creates a service that signs with the ring's signer and validates with the ring's keys.</summary>
    /// <param name="keys">The signing key and the accepted keys; shared with whoever rotates them.</param>
    /// <param name="issuer">The <c>iss</c> claim written and required; default <see cref="DefaultIssuer"/>.</param>
    /// <param name="timeProvider">Clock for issue times, expiry and key retirement; default <see cref="TimeProvider.System"/>.</param>
    /// <param name="audience">
    /// The cluster's id, written as the <c>aud</c> claim of every token issued and required of every token that carries
    /// one (service tokens always do); null (the default) issues tokens without an audience.
    /// </param>
    /// <exception cref="ArgumentException">The issuer is empty.</exception>
    public TokenService(TokenKeyRing keys, string issuer = DefaultIssuer, TimeProvider? timeProvider = null, string? audience = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentException.ThrowIfNullOrWhiteSpace(issuer);
        if (audience is not null) ArgumentException.ThrowIfNullOrWhiteSpace(audience);
        Keys = keys;
        Issuer = issuer;
        Audience = audience;
        this.timeProvider = timeProvider ?? TimeProvider.System;
        parameters = new TokenValidationParameters
        {
            RequireSignedTokens = true,
            ValidateIssuer = true,
            ValidIssuer = issuer,
            ValidateAudience = false,
            // One key per token, chosen by its kid before the handler runs (TokenService.Keys.cs); never "try them all".
            TryAllIssuerSigningKeys = false,
            // Expiry is checked in ValidateAsync against the injected clock, so tests can move time
            // and the error can say when the token expired.
            ValidateLifetime = false,
            RequireExpirationTime = false,
        };
    }

    /// <summary>The keys this service signs and validates with.</summary>
    public TokenKeyRing Keys { get; }

    /// <summary>Checked after a token's signature and claims hold (a removed machine's tokens); null for none.</summary>
    public ITokenRevocationCheck? Revocation { get; init; }

    /// <summary>The <c>iss</c> claim this service writes and requires.</summary>
    public string Issuer { get; }

    /// <summary>The cluster id written as <c>aud</c>, and required of tokens that carry an audience; null when none is configured.</summary>
    public string? Audience { get; }

    /// <summary>Issues a signed token.</summary>
    /// <param name="subject">The <c>sub</c> claim, e.g. a node id.</param>
    /// <param name="role">One of <see cref="TokenRoles"/>.</param>
    /// <param name="lifetime">How long it is valid; null for a token that never expires.</param>
    /// <exception cref="ArgumentException">Empty subject, unknown role, or a lifetime that is not positive.</exception>
    public string Issue(string subject, string role, TimeSpan? lifetime = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(subject);
        if (!TokenRoles.IsKnown(role) || role == TokenRoles.Service)
            throw new ArgumentException($"Unknown role '{role}'; expected '{TokenRoles.Admin}', '{TokenRoles.Operator}', '{TokenRoles.Viewer}', '{TokenRoles.Machine}' or '{TokenRoles.Join}' (service tokens come from IssueServiceToken).", nameof(role));
        if (subject.StartsWith(UserSubjectPrefix, StringComparison.Ordinal))
            throw new ArgumentException($"Subjects starting with '{UserSubjectPrefix}' are for named users; use IssueUserToken.", nameof(subject));
        if (lifetime is { } span && span <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(lifetime), span, "The lifetime must be positive.");
        return Create(subject, role, lifetime, extraClaims: null);
    }

    private string Create(string subject, string role, TimeSpan? lifetime, Dictionary<string, object>? extraClaims)
    {
        var now = timeProvider.GetUtcNow();
        var claims = new Dictionary<string, object>
        {
            [JwtRegisteredClaimNames.Sub] = subject,
            [RoleClaim] = role,
            [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
        };
        foreach (var (name, value) in extraClaims ?? []) claims[name] = value;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + lifetime)?.UtcDateTime,
            SigningCredentials = Keys.Signer?.Credentials
                ?? throw new InvalidOperationException("This token service only validates tokens: its key ring has no signing key."),
            Claims = claims,
        };
        return handler.CreateToken(descriptor);
    }

    /// <summary>
    /// Checks signature, issuer, expiry and claims. Never throws: any problem comes back as
    /// <see cref="TokenValidation.Error"/>.
    /// </summary>
    public async Task<TokenValidation> ValidateAsync(string? token)
    {
        if (string.IsNullOrWhiteSpace(token)) return TokenValidation.Failure("token is missing");
        if (token.Length > MaxTokenLength) return TokenValidation.Failure("token is malformed");

        TokenValidation accepted;
        if (TryGetCached(token) is { } cached) accepted = cached;
        else try
        {
            if (!handler.CanReadToken(token)) return TokenValidation.Failure("token is malformed");
            var read = handler.ReadJsonWebToken(token);
            var (chosen, refusal) = await ChooseKeyAsync(read).ConfigureAwait(false);
            if (chosen is null) return TokenValidation.Failure(refusal!);
            var result = await handler.ValidateTokenAsync(read, chosen).ConfigureAwait(false);
            if (!result.IsValid) return TokenValidation.Failure(Describe(result.Exception, token));
            accepted = result.SecurityToken is JsonWebToken jwt ? Accept(jwt, legacy: chosen.ValidAlgorithms.Contains(SecurityAlgorithms.HmacSha256)) : TokenValidation.Failure("token is malformed");
            Remember(token, accepted);
        }
        catch (Exception)
        {
            // The handler reports problems in its result; this only guards the "never throws" promise
            // against parser corner cases, which all mean the input was not one of our tokens.
            return TokenValidation.Failure("token is malformed");
        }
        if (accepted.Principal is not { } principal || Revocation is null) return accepted;
        try
        {
            return await Revocation.CheckAsync(principal).ConfigureAwait(false) is { } revoked ? TokenValidation.Failure(revoked) : accepted;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Fail closed: a token whose revocation cannot be checked is not accepted, and the caller is told why.
            return TokenValidation.Failure("cannot check whether this token was revoked (the cluster store did not answer); try again");
        }
    }

    private TokenValidation Accept(JsonWebToken jwt, bool legacy)
    {
        if (!TryGetString(jwt, JwtRegisteredClaimNames.Sub, out var subject) || !TryGetString(jwt, RoleClaim, out var role) || !TokenRoles.IsKnown(role))
            return TokenValidation.Failure("token has no valid subject or role");
        var audience = AudienceOf(jwt);
        if (audience is not null && Audience is not null && audience != Audience)
            return TokenValidation.Failure($"token is for another cluster (audience \"{Truncate(audience)}\", this cluster is \"{Audience}\")");

        DateTimeOffset? expiresAt = null;
        var validTo = jwt.ValidTo; // DateTime.MinValue when the token has no exp claim
        if (validTo != DateTime.MinValue)
        {
            expiresAt = new DateTimeOffset(DateTime.SpecifyKind(validTo, DateTimeKind.Utc));
            if (timeProvider.GetUtcNow() >= expiresAt)
                return TokenValidation.Failure(string.Create(CultureInfo.InvariantCulture, $"token expired at {expiresAt:yyyy-MM-dd HH:mm:ss} UTC"));
        }

        // Control planes of one cluster issue and check; a minute covers their clocks' difference.
        var validFrom = jwt.ValidFrom; // DateTime.MinValue when the token has no nbf claim
        if (validFrom != DateTime.MinValue && new DateTimeOffset(DateTime.SpecifyKind(validFrom, DateTimeKind.Utc)) > timeProvider.GetUtcNow() + AllowedClockSkew)
            return TokenValidation.Failure(string.Create(CultureInfo.InvariantCulture, $"token is not valid before {validFrom:yyyy-MM-dd HH:mm:ss} UTC"));

        // A pre-ES256 token that never expires (the old admin.token and join.token) would outlive the old key's grace
        // period unnoticed; those were re-issued with ES256 on the first start after the upgrade.
        if (legacy && expiresAt is null)
            return TokenValidation.Failure("token was signed with the cluster's old HMAC key and never expires; such tokens are no longer accepted: use the admin.token or join.token file rewritten in the control plane's data directory");
        var principal = new TokenPrincipal(subject, role, expiresAt)
        {
            KeyId = legacy ? null : jwt.Kid,
            Audience = audience,
            TokenId = TryGetString(jwt, JwtRegisteredClaimNames.Jti, out var id) ? id : null,
        };
        if (role == TokenRoles.Service) return AcceptService(jwt, principal);
        return subject.StartsWith(UserSubjectPrefix, StringComparison.Ordinal) ? AcceptUser(jwt, principal) : TokenValidation.Success(WithMachineGeneration(jwt, principal));
    }

    private string Describe(Exception? error, string token) => error switch
    {
        SecurityTokenInvalidIssuerException => "token was issued by another cluster",
        SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidAlgorithmException
            // A token signed with another key usually comes from another cluster; say so when its issuer shows it.
            => UnverifiedIssuer(token) is { } other && other != Issuer ? "token was issued by another cluster" : "token signature is invalid",
        _ => "token is malformed",
    };

    private string? UnverifiedIssuer(string token)
    {
        try
        {
            return handler.CanReadToken(token) ? handler.ReadJsonWebToken(token).Issuer : null;
        }
        catch (Exception)
        {
            return null;
        }
    }

    private static bool TryGetString(JsonWebToken jwt, string claim, [NotNullWhen(true)] out string? value) =>
        jwt.TryGetPayloadValue(claim, out value) && !string.IsNullOrWhiteSpace(value);

    /// <summary>Makes a new random symmetric key of <see cref="KeySize"/> bytes.</summary>
    public static byte[] CreateKey() => RandomNumberGenerator.GetBytes(KeySize);

    /// <summary>Encodes a key as base64, for the settings store or a config file.</summary>
    public static string EncodeKey(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Convert.ToBase64String(key);
    }

    /// <summary>Decodes a base64 key made by <see cref="EncodeKey"/>.</summary>
    /// <exception cref="FormatException">Not base64, or shorter than <see cref="KeySize"/> bytes.</exception>
    public static byte[] DecodeKey(string text) =>
        TryDecodeKey(text, out var key)
            ? key
            : throw new FormatException($"The signing key must be base64 of at least {KeySize} bytes.");

    /// <summary>Decodes a base64 key; false when it is not base64 or shorter than <see cref="KeySize"/> bytes.</summary>
    public static bool TryDecodeKey(string? text, [NotNullWhen(true)] out byte[]? key)
    {
        key = null;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var buffer = new byte[text.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64String(text.Trim(), buffer, out var written) || written < KeySize) return false;
        key = buffer[..written];
        return true;
    }
}
