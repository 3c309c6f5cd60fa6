using System.Text;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Security;

namespace VirtualCluster.Security.Tests;

public sealed class TokenServiceTests
{
    private static readonly DateTimeOffset Start = new(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);
    private readonly FakeTimeProvider clock = new(Start);
    private readonly TokenKeyRing key = TokenKeyRing.CreateEphemeral();

    private TokenService Service(string issuer = TokenService.DefaultIssuer) => new(key, issuer, clock);

    [Theory]
    [InlineData(TokenRoles.Admin)]
    [InlineData(TokenRoles.Machine)]
    [InlineData(TokenRoles.Join)]
    public async Task Issued_token_validates_with_subject_and_role(string role)
    {
        var service = Service();
        var token = service.Issue("node-1", role);

        var result = await service.ValidateAsync(token);

        Assert.True(result.IsValid, result.Error);
        Assert.Null(result.Error);
        Assert.Equal(new TokenPrincipal("node-1", role, null), result.Principal! with { TokenId = null, KeyId = null });
        Assert.Equal(service.Keys.SigningKeyId, result.Principal.KeyId);
        Assert.NotNull(result.Principal.TokenId); // every token has its own id (jti)
    }

    [Fact]
    public async Task Token_with_lifetime_reports_expiry_and_is_valid_until_then()
    {
        var service = Service();
        var token = service.Issue("alice", TokenRoles.Admin, TimeSpan.FromHours(1));

        clock.Advance(TimeSpan.FromMinutes(59));
        var result = await service.ValidateAsync(token);

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(Start.AddHours(1), result.Principal.ExpiresAt);
    }

    [Fact]
    public async Task Expired_token_is_rejected_against_the_injected_clock()
    {
        var service = Service();
        var token = service.Issue("alice", TokenRoles.Admin, TimeSpan.FromHours(1));

        clock.Advance(TimeSpan.FromHours(1));
        var result = await service.ValidateAsync(token);

        Assert.False(result.IsValid);
        Assert.Null(result.Principal);
        Assert.Equal("token expired at 2031-05-06 08:08:09 UTC", result.Error);
    }

    [Fact]
    public async Task Token_issued_in_the_past_by_the_fake_clock_is_still_valid_without_expiry()
    {
        // The fake clock is years away from the real one; a handler using the real clock would disagree.
        var past = new FakeTimeProvider(new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var service = new TokenService(key, timeProvider: past);
        var token = service.Issue("n", TokenRoles.Machine, TimeSpan.FromMinutes(5));

        Assert.True((await service.ValidateAsync(token)).IsValid);
    }

    [Fact]
    public async Task Each_token_has_a_unique_id()
    {
        var service = Service();
        Assert.NotEqual(service.Issue("a", TokenRoles.Admin), service.Issue("a", TokenRoles.Admin));
        Assert.Contains("\"jti\":", Payload(service.Issue("a", TokenRoles.Admin)));
        Assert.True((await service.ValidateAsync(service.Issue("a", TokenRoles.Admin))).IsValid);
    }

    [Fact]
    public async Task Tampered_payload_is_rejected()
    {
        var service = Service();
        var parts = service.Issue("node-1", TokenRoles.Machine).Split('.');
        var payload = Payload(string.Join('.', parts)).Replace("\"machine\"", "\"admin\"", StringComparison.Ordinal);
        var forged = $"{parts[0]}.{Base64Url(payload)}.{parts[2]}";

        var result = await service.ValidateAsync(forged);

        Assert.False(result.IsValid);
        Assert.Equal("token signature is invalid", result.Error);
    }

    [Fact]
    public async Task Tampered_signature_is_rejected()
    {
        var service = Service();
        var parts = service.Issue("node-1", TokenRoles.Machine).Split('.');
        var signature = parts[2].ToCharArray();
        signature[0] = signature[0] == 'A' ? 'B' : 'A';
        var forged = $"{parts[0]}.{parts[1]}.{new string(signature)}";

        var result = await service.ValidateAsync(forged);

        Assert.Equal("token signature is invalid", result.Error);
    }

    [Fact]
    public async Task Unsigned_token_is_rejected()
    {
        var service = Service();
        var parts = service.Issue("node-1", TokenRoles.Admin).Split('.');
        var none = $"{Base64Url("{\"alg\":\"none\",\"typ\":\"JWT\"}")}.{parts[1]}.";

        var result = await service.ValidateAsync(none);

        Assert.False(result.IsValid);
        Assert.NotNull(result.Error);
    }

    [Fact]
    public async Task Token_signed_with_another_key_is_rejected()
    {
        var other = new TokenService(TokenKeyRing.CreateEphemeral(), timeProvider: clock);

        var result = await Service().ValidateAsync(other.Issue("node-1", TokenRoles.Machine));

        Assert.StartsWith("token was signed with an unknown key", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_from_another_issuer_is_reported_as_another_cluster()
    {
        var sameKeyOtherIssuer = Service("cluster-b").Issue("node-1", TokenRoles.Machine);
        var otherKeyOtherIssuer = new TokenService(TokenKeyRing.CreateEphemeral(), "cluster-b", clock).Issue("node-1", TokenRoles.Machine);

        var service = Service("cluster-a");

        Assert.Equal("token was issued by another cluster", (await service.ValidateAsync(sameKeyOtherIssuer)).Error);
        Assert.Equal("token was issued by another cluster", (await service.ValidateAsync(otherKeyOtherIssuer)).Error);
    }

    [Theory]
    [InlineData(null, "token is missing")]
    [InlineData("", "token is missing")]
    [InlineData("   ", "token is missing")]
    [InlineData("a.b.c", "token is malformed")]
    [InlineData("not a token", "token is malformed")]
    [InlineData("....", "token is malformed")]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9", "token is malformed")]
    public async Task Garbage_gives_an_error_not_an_exception(string? token, string error)
    {
        var result = await Service().ValidateAsync(token);

        Assert.False(result.IsValid);
        Assert.Equal(error, result.Error);
    }

    [Fact]
    public async Task Huge_token_is_rejected()
    {
        var service = Service();
        var valid = service.Issue("n", TokenRoles.Admin);

        Assert.Equal("token is malformed", (await service.ValidateAsync(new string('a', 5_000_000))).Error);
        Assert.Equal("token is malformed", (await service.ValidateAsync(valid + new string('A', 100_000))).Error);
    }

    [Fact]
    public async Task Random_and_mutated_strings_never_throw()
    {
        var service = Service();
        var valid = service.Issue("node-1", TokenRoles.Machine, TimeSpan.FromHours(1));
        var random = new Random(1234);
        const string alphabet = "abcXYZ0189-_.=+/ \u00e9\u4e2d\0{}\":,";

        for (var i = 0; i < 3000; i++)
        {
            string candidate;
            if (i % 2 == 0)
            {
                var chars = new char[random.Next(0, 200)];
                for (var c = 0; c < chars.Length; c++) chars[c] = alphabet[random.Next(alphabet.Length)];
                candidate = new string(chars);
            }
            else
            {
                var chars = valid.ToCharArray();
                for (var m = random.Next(1, 4); m > 0; m--) chars[random.Next(chars.Length)] = alphabet[random.Next(alphabet.Length)];
                candidate = new string(chars);
            }

            var result = await service.ValidateAsync(candidate);

            Assert.True(result.IsValid != (result.Error is not null), candidate);
            // A mutation may land in a spot that decodes to the same bytes; anything else must fail.
            if (result.IsValid) Assert.Equal("node-1", result.Principal.Subject);
        }
    }

    [Fact]
    public async Task Payload_with_garbage_json_under_a_valid_signature_structure_never_throws()
    {
        var service = Service();
        var header = service.Issue("n", TokenRoles.Admin).Split('.')[0];
        string[] payloads = ["[]", "null", "{", "{\"exp\":\"soon\"}", "{\"sub\":{}}", "{\"iss\":42}", "\"x\"", new string('{', 500)];

        foreach (var payload in payloads)
        {
            var result = await service.ValidateAsync($"{header}.{Base64Url(payload)}.AAAA");
            Assert.False(result.IsValid);
            Assert.NotNull(result.Error);
        }
    }

    [Fact]
    public void Short_legacy_key_and_missing_ring_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new TokenKeyRing().SetLegacy(new byte[31], DateTimeOffset.UtcNow));
        Assert.Throws<ArgumentNullException>(() => new TokenService(null!));
    }

    [Fact]
    public void Issue_refuses_bad_arguments()
    {
        var service = Service();
        Assert.Throws<ArgumentException>(() => service.Issue("n", "root"));
        Assert.Throws<ArgumentException>(() => service.Issue(" ", TokenRoles.Admin));
        Assert.Throws<ArgumentOutOfRangeException>(() => service.Issue("n", TokenRoles.Admin, TimeSpan.Zero));
    }

    [Fact]
    public void A_ring_without_a_signer_validates_only()
    {
        var service = new TokenService(new TokenKeyRing(), timeProvider: clock);
        Assert.Throws<InvalidOperationException>(() => service.Issue("n", TokenRoles.Admin));
    }

    [Fact]
    public void Keys_are_random_and_round_trip_through_base64()
    {
        var a = TokenService.CreateKey();
        var b = TokenService.CreateKey();

        Assert.Equal(TokenService.KeySize, a.Length);
        Assert.NotEqual(a, b);
        Assert.Equal(a, TokenService.DecodeKey(TokenService.EncodeKey(a)));
        Assert.True(TokenService.TryDecodeKey(TokenService.EncodeKey(b), out var decoded));
        Assert.Equal(b, decoded);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("AAAA")]
    public void Bad_encoded_keys_are_refused(string? text)
    {
        Assert.False(TokenService.TryDecodeKey(text, out var decoded));
        Assert.Null(decoded);
        Assert.Throws<FormatException>(() => TokenService.DecodeKey(text!));
    }

    private static string Payload(string token)
    {
        var part = token.Split('.')[1].Replace('-', '+').Replace('_', '/');
        part = part.PadRight(part.Length + (4 - part.Length % 4) % 4, '=');
        return Encoding.UTF8.GetString(Convert.FromBase64String(part));
    }

    private static string Base64Url(string text) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
