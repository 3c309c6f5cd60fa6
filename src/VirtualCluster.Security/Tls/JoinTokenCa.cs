using System.Buffers.Text;
using System.Text.Json;

namespace VirtualCluster.Security.Tls;

/// <summary>
/// Reads the CA fingerprint a join token carries, without checking the token's signature: the joining machine cannot
/// check it (it has no key), and does not need to. The token came to it out of band from someone it trusts, and a
/// forged fingerprint only makes it trust a server the control plane would then refuse the token at.
/// </summary>
public static class JoinTokenCa
{
    /// <summary>The fingerprint in the token's <c>cah</c> claim; null when the token has none or is not a JWT.</summary>
    public static string? Read(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > TokenService.MaxTokenLength) return null;
        var parts = token.Split('.');
        if (parts.Length != 3) return null;
        try
        {
            var payload = Base64Url.DecodeFromChars(parts[1]);
            using var document = JsonDocument.Parse(payload);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty(TokenService.CaFingerprintClaim, out var claim)
                && claim.ValueKind == JsonValueKind.String
                && TlsFingerprint.TryParse(claim.GetString(), out var fingerprint, out _))
                return fingerprint;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
        }
        return null;
    }
}
