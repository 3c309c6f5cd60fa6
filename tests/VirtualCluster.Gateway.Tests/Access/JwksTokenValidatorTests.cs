using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using VirtualCluster.Api;
using VirtualCluster.Gateway.Access;
using VirtualCluster.Security;

namespace VirtualCluster.Gateway.Tests.Access;

/// <summary>
/// A standalone gateway checks service tokens itself with the control plane's JWK Set: one read for many tokens, a new
/// read when a token names a key just rotated in, retired keys dropped at the next refresh, and per-token introspection
/// only for a control plane that has no JWK Set. (The standalone gateway against a real control plane: IntegrationTests' GatewayTests.)
/// </summary>
public sealed class JwksTokenValidatorTests
{
    private static readonly DateTimeOffset Start = new(2031, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private readonly FakeTimeProvider clock = new(Start);
    private readonly ControlPlane controlPlane = new();

    /// <summary>What the gateway sees of a control plane: its JWK Set (from its key ring) and, if asked, introspection.</summary>
    private sealed class ControlPlane : HttpMessageHandler
    {
        public TokenKeyRing Ring { get; } = TokenKeyRing.CreateEphemeral();
        public List<TokenPublicKey> Published { get; } = [];
        public int JwksReads;
        public int Introspections;
        public bool HasJwks = true;
        public bool Down;

        public ControlPlane() => Published.Add(Ring.Signer!.PublicKey);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Down) throw new HttpRequestException("connection refused");
            var path = request.RequestUri!.AbsolutePath;
            if (path == "/v1/jwks")
            {
                Interlocked.Increment(ref JwksReads);
                return Task.FromResult(HasJwks
                    ? new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(new PublicJwkSet([.. Published.Select(k => k.ToJwk())], "cluster-a")) }
                    : new HttpResponseMessage(HttpStatusCode.NotFound));
            }
            if (path == "/v1/tokens/introspect")
            {
                Interlocked.Increment(ref Introspections);
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
                {
                    Content = JsonContent.Create(new TokenIntrospection(true, "service:hello", TokenRoles.Service, Start.AddHours(1), "cluster-a"), options: VirtualClusterJson.Options),
                });
            }
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.NotFound));
        }
    }

    private JwksTokenValidator Validator()
    {
        var reader = new ControlPlaneReader(new HttpClient(controlPlane), [new Uri("http://control-plane.test/")]);
        var options = Options.Create(new GatewayOptions { ControlPlaneToken = "gateway-admin-token" });
        return new JwksTokenValidator(reader, new ControlPlaneTokenValidator(reader, options, clock), clock);
    }

    private string ServiceToken(TokenKeyRing? ring = null, string audience = "cluster-a") =>
        new TokenService(ring ?? controlPlane.Ring, timeProvider: clock, audience: audience).IssueServiceToken("hello", TimeSpan.FromHours(1));

    [Fact]
    public async Task Tokens_are_checked_locally_with_one_read_of_the_key_set()
    {
        var validator = Validator();
        for (var i = 0; i < 20; i++)
        {
            var result = await validator.ValidateAsync(ServiceToken());
            Assert.True(result.IsValid, result.Error);
            Assert.Equal("hello", result.Principal.Service);
        }
        Assert.Equal(1, controlPlane.JwksReads);
        Assert.Equal(0, controlPlane.Introspections);
        Assert.Equal("token is malformed", (await validator.ValidateAsync("not-a-token")).Error);
        Assert.Contains("another cluster", (await validator.ValidateAsync(ServiceToken(audience: "cluster-b"))).Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_rotated_in_is_fetched_when_first_seen_and_a_retired_key_is_dropped_at_the_next_refresh()
    {
        var validator = Validator();
        var old = ServiceToken();
        Assert.True((await validator.ValidateAsync(old)).IsValid);

        // The control plane rotates: a new key is published beside the old one.
        var rotated = TokenKeyRing.CreateEphemeral();
        controlPlane.Published.Add(rotated.Signer!.PublicKey);
        clock.Advance(TokenKeyRing.MinRefreshInterval);
        Assert.True((await validator.ValidateAsync(ServiceToken(rotated))).IsValid);
        Assert.Equal(2, controlPlane.JwksReads);

        // The old key retires (leaves the set): after the refresh interval its tokens are refused.
        controlPlane.Published.RemoveAt(0);
        Assert.True((await validator.ValidateAsync(old)).IsValid); // positive control: still cached
        clock.Advance(JwksTokenValidator.RefreshEvery);
        Assert.StartsWith("token was signed with an unknown key", (await validator.ValidateAsync(old)).Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_confusion_and_unknown_keys_are_refused_without_asking_per_token()
    {
        var validator = Validator();
        Assert.True((await validator.ValidateAsync(ServiceToken())).IsValid);
        var jwk = controlPlane.Published[0];
        var hs256 = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = TokenService.DefaultIssuer, Audience = "cluster-a", Expires = Start.AddHours(1).UtcDateTime,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(System.Text.Encoding.UTF8.GetBytes(jwk.X + jwk.Y)), SecurityAlgorithms.HmacSha256),
            Claims = new Dictionary<string, object> { ["sub"] = "service:hello", ["role"] = "service", ["scope"] = "service:hello" },
        });

        Assert.Contains("HS256", (await validator.ValidateAsync(hs256)).Error, StringComparison.Ordinal);
        Assert.StartsWith("token was signed with an unknown key", (await validator.ValidateAsync(ServiceToken(TokenKeyRing.CreateEphemeral()))).Error, StringComparison.Ordinal);
        Assert.Equal(0, controlPlane.Introspections);
    }

    [Fact]
    public async Task The_keys_read_last_keep_serving_while_the_control_plane_is_away()
    {
        var validator = Validator();
        Assert.True((await validator.ValidateAsync(ServiceToken())).IsValid);
        controlPlane.Down = true;
        clock.Advance(JwksTokenValidator.RefreshEvery);
        Assert.True((await validator.ValidateAsync(ServiceToken())).IsValid);
    }

    [Fact]
    public async Task A_control_plane_without_a_JWK_Set_is_asked_per_token()
    {
        controlPlane.HasJwks = false;
        var validator = Validator();
        Assert.True((await validator.ValidateAsync(ServiceToken())).IsValid);
        Assert.Equal(1, controlPlane.Introspections);
    }

    [Fact]
    public async Task With_no_control_plane_reachable_and_no_keys_yet_the_check_fails_as_unreachable()
    {
        controlPlane.Down = true;
        await Assert.ThrowsAsync<HttpRequestException>(() => Validator().ValidateAsync(ServiceToken()));
    }
}
