using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace VirtualCluster.Security.Tests;

/// <summary>ES256 signing with key ids, published keys, retirement, the old HMAC key, and what is refused before any signature check.</summary>
public sealed class KeyRingTests
{
    private static readonly DateTimeOffset Start = new(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);
    private readonly FakeTimeProvider clock = new(Start);
    private readonly TokenKeyRing ring = TokenKeyRing.CreateEphemeral();

    private TokenService Service(TokenKeyRing? keys = null) => new(keys ?? ring, timeProvider: clock, audience: "cluster-a");

    private static string Sign(SigningCredentials credentials, DateTimeOffset now, DateTimeOffset? expires, string role = "admin") =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = TokenService.DefaultIssuer,
            Audience = "cluster-a",
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires?.UtcDateTime,
            SigningCredentials = credentials,
            Claims = new Dictionary<string, object> { ["sub"] = "admin", ["role"] = role, ["jti"] = Guid.NewGuid().ToString("N") },
        });

    private static string Hs256(byte[] secret, DateTimeOffset now, DateTimeOffset? expires, string? kid = null) =>
        Sign(new SigningCredentials(new SymmetricSecurityKey(secret) { KeyId = kid }, SecurityAlgorithms.HmacSha256), now, expires);

    [Fact]
    public async Task Tokens_are_ES256_and_name_their_key()
    {
        var token = Service().Issue("admin", TokenRoles.Admin, TimeSpan.FromHours(1));
        var header = new JsonWebToken(token);

        Assert.Equal("ES256", header.Alg);
        Assert.Equal(ring.SigningKeyId, header.Kid);
        Assert.True((await Service().ValidateAsync(token)).IsValid);
    }

    [Fact]
    public async Task Key_confusion_HS256_signed_with_the_public_key_is_refused_in_every_encoding()
    {
        var publicKey = ring.Signer!.PublicKey;
        var ecdsa = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = Base64UrlEncoder.DecodeBytes(publicKey.X), Y = Base64UrlEncoder.DecodeBytes(publicKey.Y) },
        });
        byte[][] encodings =
        [
            ecdsa.ExportSubjectPublicKeyInfo(),
            Encoding.UTF8.GetBytes(ecdsa.ExportSubjectPublicKeyInfoPem()),
            [0x04, .. Base64UrlEncoder.DecodeBytes(publicKey.X), .. Base64UrlEncoder.DecodeBytes(publicKey.Y)],
            Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(publicKey.ToJwk())),
        ];
        // Also with the old HMAC key in use: the legacy path checks with that secret only, never with a public key.
        var withLegacy = TokenKeyRing.CreateEphemeral();
        withLegacy.SetLegacy(TokenService.CreateKey(), Start.AddDays(90));
        withLegacy.SetPublished([(publicKey, null)]);

        foreach (var bytes in encodings)
        foreach (var kid in new string?[] { null, publicKey.KeyId })
        foreach (var keys in new[] { ring, withLegacy })
        {
            var result = await Service(keys).ValidateAsync(Hs256(bytes, Start, Start.AddHours(1), kid));
            Assert.False(result.IsValid);
            Assert.True(result.Error!.Contains("HS256", StringComparison.Ordinal) || result.Error.Contains("signature", StringComparison.Ordinal), result.Error);
        }
    }

    [Theory]
    [InlineData("none")]
    [InlineData("ES384")]
    [InlineData("RS256")]
    [InlineData("HS512")]
    public async Task Other_algorithms_are_refused_by_name(string alg)
    {
        var valid = Service().Issue("admin", TokenRoles.Admin, TimeSpan.FromHours(1));
        var parts = valid.Split('.');
        var header = Base64UrlEncoder.Encode($$"""{"alg":"{{alg}}","kid":"{{ring.SigningKeyId}}","typ":"JWT"}""");

        var result = await Service().ValidateAsync($"{header}.{parts[1]}.{parts[2]}");

        Assert.Equal($"token algorithm \"{alg}\" is not accepted; this cluster signs its tokens with ES256", result.Error);
    }

    [Fact]
    public async Task A_token_claiming_a_known_kid_but_signed_by_another_key_has_an_invalid_signature()
    {
        var other = TokenSigningKey.Create();
        var forged = new SigningCredentials(new ECDsaSecurityKey(((ECDsaSecurityKey)other.Credentials.Key).ECDsa) { KeyId = ring.SigningKeyId }, SecurityAlgorithms.EcdsaSha256);

        Assert.Equal("token signature is invalid", (await Service().ValidateAsync(Sign(forged, Start, Start.AddHours(1)))).Error);
    }

    [Fact]
    public async Task A_token_without_kid_is_refused()
    {
        var noKid = new SigningCredentials(new ECDsaSecurityKey(((ECDsaSecurityKey)ring.Signer!.Credentials.Key).ECDsa), SecurityAlgorithms.EcdsaSha256);

        Assert.StartsWith("token has no key id", (await Service().ValidateAsync(Sign(noKid, Start, Start.AddHours(1)))).Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_published_key_validates_until_it_retires()
    {
        var otherControlPlane = TokenKeyRing.CreateEphemeral();
        var token = Service(otherControlPlane).Issue("admin", TokenRoles.Admin, TimeSpan.FromDays(10));
        Assert.StartsWith("token was signed with an unknown key", (await Service().ValidateAsync(token)).Error, StringComparison.Ordinal);

        ring.SetPublished([(otherControlPlane.Signer!.PublicKey, Start.AddDays(2))]);
        Assert.True((await Service().ValidateAsync(token)).IsValid);

        clock.Advance(TimeSpan.FromDays(2));
        var refused = await Service().ValidateAsync(token);
        Assert.StartsWith($"token was signed with key \"{otherControlPlane.SigningKeyId}\", rotated out and retired at", refused.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(otherControlPlane.Signer.PublicKey, ring.ActiveKeys(clock.GetUtcNow()));
        // The ring's own signing key is never retired by a publication that lags behind.
        Assert.True((await Service().ValidateAsync(Service().Issue("admin", TokenRoles.Admin, TimeSpan.FromHours(1)))).IsValid);
    }

    [Fact]
    public async Task An_unknown_kid_reads_the_published_keys_again_at_most_once_a_second()
    {
        var otherControlPlane = TokenKeyRing.CreateEphemeral();
        var token = Service(otherControlPlane).Issue("admin", TokenRoles.Admin, TimeSpan.FromDays(1));
        var refreshes = 0;
        var publish = false;
        ring.Refresh = _ =>
        {
            refreshes++;
            if (publish) ring.SetPublished([(otherControlPlane.Signer!.PublicKey, null)]);
            return Task.CompletedTask;
        };

        Assert.False((await Service().ValidateAsync(token)).IsValid);
        Assert.False((await Service().ValidateAsync(token)).IsValid);
        Assert.Equal(1, refreshes); // a flood of unknown kids costs the store one read a second

        publish = true; // the other control plane published its key in the meantime
        clock.Advance(TokenKeyRing.MinRefreshInterval);
        Assert.True((await Service().ValidateAsync(token)).IsValid);
        Assert.Equal(2, refreshes);
    }

    [Fact]
    public async Task Tokens_of_the_old_HMAC_key_are_accepted_with_an_expiry_until_the_legacy_grace_ends()
    {
        var legacy = TokenService.CreateKey();
        ring.SetLegacy(legacy, Start.AddDays(91));
        var old = Hs256(legacy, Start, Start.AddDays(30));

        var accepted = await Service().ValidateAsync(old);
        Assert.True(accepted.IsValid, accepted.Error);
        Assert.Null(accepted.Principal.KeyId);

        Assert.StartsWith("token was signed with the cluster's old HMAC key and never expires", (await Service().ValidateAsync(Hs256(legacy, Start, null))).Error, StringComparison.Ordinal);
        Assert.Contains("HS256", (await Service().ValidateAsync(Hs256(legacy, Start, Start.AddDays(30), kid: "legacy"))).Error, StringComparison.Ordinal);
        Assert.Equal("token signature is invalid", (await Service().ValidateAsync(Hs256(TokenService.CreateKey(), Start, Start.AddDays(30)))).Error);

        clock.Advance(TimeSpan.FromDays(91));
        ring.SetLegacy(legacy, Start.AddDays(91));
        var late = Hs256(legacy, clock.GetUtcNow(), clock.GetUtcNow().AddDays(1));
        Assert.StartsWith("token was signed with the cluster's old HMAC key, retired at", (await Service().ValidateAsync(late)).Error, StringComparison.Ordinal);
        Assert.False(ring.AcceptsLegacy(clock.GetUtcNow()));
    }

    [Fact]
    public async Task Without_an_old_HMAC_key_HS256_is_refused_outright()
    {
        var result = await Service().ValidateAsync(Hs256(TokenService.CreateKey(), Start, Start.AddHours(1)));
        Assert.Equal("token algorithm \"HS256\" is not accepted; this cluster signs its tokens with ES256", result.Error);
    }

    [Fact]
    public void Keys_round_trip_through_PEM_and_their_kid_is_the_RFC_7638_thumbprint()
    {
        using var key = TokenSigningKey.Create();
        using var copy = TokenSigningKey.FromPem(key.ExportPem());

        Assert.Equal(key.KeyId, copy.KeyId);
        var p = key.PublicKey;
        var canonical = $$"""{"crv":"P-256","kty":"EC","x":"{{p.X}}","y":"{{p.Y}}"}""";
        Assert.Equal(Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))), key.KeyId);
        Assert.True(TokenPublicKey.TryCreate(p.KeyId, p.X, p.Y, out var parsed, out _));
        Assert.Equal(p, parsed);
    }

    [Fact]
    public void Bad_keys_are_refused_with_a_reason()
    {
        using var rsa = RSA.Create(2048);
        Assert.Throws<FormatException>(() => TokenSigningKey.FromPem(rsa.ExportPkcs8PrivateKeyPem()));
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Assert.Throws<FormatException>(() => TokenSigningKey.FromPem(p384.ExportPkcs8PrivateKeyPem()));
        Assert.Throws<FormatException>(() => TokenSigningKey.FromPem("not a key"));

        var p = ring.Signer!.PublicKey;
        Assert.False(TokenPublicKey.TryCreate("other", p.X, p.Y, out _, out var mismatch));
        Assert.Contains("thumbprint", mismatch, StringComparison.Ordinal);
        Assert.False(TokenPublicKey.TryCreate(p.KeyId, "AAAA", p.Y, out _, out var tooShort));
        Assert.Contains("32 bytes", tooShort, StringComparison.Ordinal);
        var offCurveY = Base64UrlEncoder.Encode(new byte[32]);
        Assert.False(TokenPublicKey.TryCreate(ThumbprintOf(p.X, offCurveY), p.X, offCurveY, out _, out var notOnCurve));
        Assert.Contains("not a point on P-256", notOnCurve, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_remembered_token_is_checked_again_for_expiry_retirement_and_revocation()
    {
        var revoked = false;
        var service = new TokenService(ring, timeProvider: clock, audience: "cluster-a") { Revocation = new Revoker(() => revoked) };
        var token = service.Issue("node-1", TokenRoles.Machine, TimeSpan.FromHours(1));
        Assert.True((await service.ValidateAsync(token)).IsValid);
        Assert.True((await service.ValidateAsync(token)).IsValid); // from memory

        revoked = true;
        Assert.Equal("revoked", (await service.ValidateAsync(token)).Error);
        revoked = false;
        clock.Advance(TimeSpan.FromHours(1));
        Assert.StartsWith("token expired at", (await service.ValidateAsync(token)).Error, StringComparison.Ordinal);

        var other = TokenKeyRing.CreateEphemeral();
        var foreign = new TokenService(other, timeProvider: clock, audience: "cluster-a").Issue("node-1", TokenRoles.Machine, TimeSpan.FromHours(1));
        ring.SetPublished([(other.Signer!.PublicKey, clock.GetUtcNow().AddMinutes(1))]);
        Assert.True((await service.ValidateAsync(foreign)).IsValid);
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Contains("rotated out and retired", (await service.ValidateAsync(foreign)).Error, StringComparison.Ordinal);
    }

    private sealed class Revoker(Func<bool> revoked) : ITokenRevocationCheck
    {
        public ValueTask<string?> CheckAsync(TokenPrincipal principal) => ValueTask.FromResult(revoked() ? "revoked" : null);
    }

    private static string ThumbprintOf(string x, string y) =>
        Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes($$"""{"crv":"P-256","kty":"EC","x":"{{x}}","y":"{{y}}"}""")));
}
