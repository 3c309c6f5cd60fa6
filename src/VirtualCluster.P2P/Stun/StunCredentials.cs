using System.Security.Cryptography;
using System.Text;

namespace VirtualCluster.P2P.Stun;

/// <summary>Keys for MESSAGE-INTEGRITY (RFC 8489 §9).</summary>
public static class StunCredentials
{
    /// <summary>Short-term credential key (RFC 8489 §9.1.1): the UTF-8 of the prepared password. ICE uses this with the peer's ice-pwd.</summary>
    public static byte[] ShortTermKey(string password) => Encoding.UTF8.GetBytes(Prepare(password));

    /// <summary>
    /// Long-term credential key (RFC 8489 §9.2.2): MD5(username ":" realm ":" password), realm and password prepared
    /// (SASLprep as in RFC 5389, which RFC 5769's vectors use; for ASCII input it equals the OpaqueString profile).
    /// </summary>
    public static byte[] LongTermKey(string username, string realm, string password)
    {
#pragma warning disable CA5351 // MD5 is what the protocol specifies for the long-term key.
        return MD5.HashData(Encoding.UTF8.GetBytes($"{username}:{Prepare(realm)}:{Prepare(password)}"));
#pragma warning restore CA5351
    }

    /// <summary>
    /// Prepares a string as SASLprep (RFC 4013) does: removes characters "mapped to nothing" (RFC 3454 B.1), maps
    /// non-ASCII spaces to U+0020 and normalizes to NFKC. ASCII strings come back unchanged. NFKC needs ICU: an app
    /// running with InvariantGlobalization gets the mapping steps only, which matters only for non-ASCII passwords.
    /// </summary>
    public static string Prepare(string value)
    {
        var ascii = true;
        foreach (var ch in value)
        {
            if (ch > 0x7F) { ascii = false; break; }
        }
        if (ascii) return value;
        var builder = new StringBuilder(value.Length);
        foreach (var ch in value)
        {
            if (IsMappedToNothing(ch)) continue;
            builder.Append(IsNonAsciiSpace(ch) ? ' ' : ch);
        }
        var mapped = builder.ToString();
        try
        {
            return mapped.Normalize(NormalizationForm.FormKC);
        }
        catch (ArgumentException)
        {
            return mapped; // invalid UTF-16 (lone surrogates): use as is, the key simply will not match
        }
    }

    private static bool IsMappedToNothing(char ch) => ch is '\u00AD' or '\u034F' or '\u1806' or (>= '\u180B' and <= '\u180D')
        or (>= '\u200B' and <= '\u200D') or '\u2060' or (>= '\uFE00' and <= '\uFE0F') or '\uFEFF';

    private static bool IsNonAsciiSpace(char ch) => ch is '\u00A0' or '\u1680' or (>= '\u2000' and <= '\u200A')
        or '\u202F' or '\u205F' or '\u3000';
}
