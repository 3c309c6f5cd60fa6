using System.Text.Json.Serialization;

namespace VirtualCluster.Security;

/// <summary>One public key of a JWK Set (RFC 7517 §4): an EC P-256 key for ES256 signatures.</summary>
/// <param name="Kty">Key type: <c>EC</c>.</param>
/// <param name="Crv">Curve: <c>P-256</c>.</param>
/// <param name="X">x coordinate, base64url.</param>
/// <param name="Y">y coordinate, base64url.</param>
/// <param name="Kid">Key id: the <c>kid</c> header of the tokens it signed.</param>
/// <param name="Use">Public key use: <c>sig</c>.</param>
/// <param name="Alg">Algorithm: <c>ES256</c>.</param>
public sealed record PublicJwk(
    [property: JsonPropertyName("kty")] string? Kty,
    [property: JsonPropertyName("crv")] string? Crv,
    [property: JsonPropertyName("x")] string? X,
    [property: JsonPropertyName("y")] string? Y,
    [property: JsonPropertyName("kid")] string? Kid,
    [property: JsonPropertyName("use")] string? Use,
    [property: JsonPropertyName("alg")] string? Alg);

/// <summary>
/// The cluster's JWK Set (RFC 7517 §5), served at <c>GET /v1/jwks</c> and <c>/.well-known/jwks.json</c>: the keys whose
/// tokens are accepted now, plus the cluster id (an extra member, which RFC 7517 lets readers ignore), the audience a
/// service token must carry.
/// </summary>
/// <param name="Keys">The accepted public keys.</param>
/// <param name="Cluster">The cluster id (the <c>aud</c> of its tokens).</param>
public sealed record PublicJwkSet(
    [property: JsonPropertyName("keys")] IReadOnlyList<PublicJwk>? Keys,
    [property: JsonPropertyName("cluster")] string? Cluster);
