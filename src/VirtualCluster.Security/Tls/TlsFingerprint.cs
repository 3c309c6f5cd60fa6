using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace VirtualCluster.Security.Tls;

/// <summary>Certificate fingerprints as the cluster writes them: <c>sha256:</c> and 64 lower-case hex digits.</summary>
public static class TlsFingerprint
{
    /// <summary>Prefix of every fingerprint.</summary>
    public const string Prefix = "sha256:";

    /// <summary>The extended key usage of a TLS server certificate.</summary>
    public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    /// <summary>The fingerprint of a certificate.</summary>
    public static string Of(X509Certificate2 certificate) => Prefix + Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));

    /// <summary>
    /// Reads a fingerprint a user typed or a token carried: <c>sha256:</c> plus 64 hex digits (any case, colons allowed
    /// between bytes); null with a reason otherwise.
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out string? fingerprint, [NotNullWhen(false)] out string? problem)
    {
        fingerprint = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            problem = "the CA fingerprint is empty; it looks like sha256:<64 hex digits> (the control plane prints it and writes it in its data directory's ca.fingerprint)";
            return false;
        }
        var value = text.Trim();
        if (!value.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            problem = $"the CA fingerprint \"{Shorten(value)}\" does not start with sha256:; it looks like sha256:<64 hex digits>";
            return false;
        }
        var hex = value[Prefix.Length..].Replace(":", "", StringComparison.Ordinal);
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
        {
            problem = $"the CA fingerprint \"{Shorten(value)}\" needs exactly 64 hex digits after sha256:";
            return false;
        }
        fingerprint = Prefix + hex.ToLowerInvariant();
        problem = null;
        return true;
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "...";
}
