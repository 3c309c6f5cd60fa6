using System.Security.Cryptography;

namespace VirtualCluster.P2P.Ice;

/// <summary>
/// The ICE credentials of one side (RFC 8445 §5.3, RFC 8839 §5.4): ice-ufrag (at least 4 ice-chars) and ice-pwd (at
/// least 22 ice-chars, at least 128 bits of randomness).
/// </summary>
public sealed record IceParameters(string Ufrag, string Password)
{
    private const string IceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// <summary>Random credentials: an 8-character ufrag and a 24-character password (144 bits).</summary>
    public static IceParameters Generate() => new(Random(8), Random(24));

    /// <summary>True when both values have the lengths and characters RFC 8839 §5.4 requires (ufrag 4-256, pwd 22-256).</summary>
    public bool IsValid => Ufrag.Length is >= 4 and <= 256 && Password.Length is >= 22 and <= 256
        && Ufrag.All(IceChars.Contains) && Password.All(IceChars.Contains);

    private static string Random(int length) => RandomNumberGenerator.GetString(IceChars, length);
}
