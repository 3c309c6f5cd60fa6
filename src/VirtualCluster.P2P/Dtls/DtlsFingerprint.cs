using System.Security.Cryptography;
using System.Text;

namespace VirtualCluster.P2P.Dtls;

/// <summary>
/// A certificate fingerprint as <c>a=fingerprint</c> carries it (RFC 8122 §5): a hash function name and the hash as
/// upper-case hex bytes joined by colons, e.g. <c>sha-256 AB:CD:…</c>. sha-1, sha-256, sha-384 and sha-512 are known.
/// </summary>
public sealed record DtlsFingerprint
{
    private DtlsFingerprint(string algorithm, byte[] value)
    {
        Algorithm = algorithm;
        Value = value;
    }

    /// <summary>The hash function, lower case (<c>sha-256</c>).</summary>
    public string Algorithm { get; }

    /// <summary>The hash bytes.</summary>
    public IReadOnlyList<byte> Value { get; }

    /// <summary>Hashes a DER certificate.</summary>
    /// <exception cref="ArgumentException">The hash function is not one of sha-1, sha-256, sha-384, sha-512.</exception>
    public static DtlsFingerprint Compute(string algorithm, ReadOnlySpan<byte> der)
    {
        var name = algorithm.ToLowerInvariant();
        byte[] hash = name switch
        {
            "sha-1" => SHA1.HashData(der),
            "sha-256" => SHA256.HashData(der),
            "sha-384" => SHA384.HashData(der),
            "sha-512" => SHA512.HashData(der),
            _ => throw new ArgumentException($"unknown fingerprint hash function '{algorithm}': use sha-256 (or sha-1, sha-384, sha-512)", nameof(algorithm)),
        };
        return new DtlsFingerprint(name, hash);
    }

    /// <summary>Parses <c>sha-256 AB:CD:…</c> (the attribute value without <c>fingerprint:</c>). Never throws.</summary>
    public static bool TryParse(string? text, out DtlsFingerprint fingerprint)
    {
        fingerprint = null!;
        if (text is null || text.Length > 400) return false;
        var parts = text.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2) return false;
        var name = parts[0].ToLowerInvariant();
        int size = name switch { "sha-1" => 20, "sha-256" => 32, "sha-384" => 48, "sha-512" => 64, _ => 0 };
        if (size == 0) return false;
        var hex = parts[1].Split(':');
        if (hex.Length != size) return false;
        var bytes = new byte[size];
        for (var i = 0; i < size; i++)
        {
            if (hex[i].Length != 2 || !byte.TryParse(hex[i], System.Globalization.NumberStyles.AllowHexSpecifier, null, out bytes[i])) return false;
        }
        fingerprint = new DtlsFingerprint(name, bytes);
        return true;
    }

    /// <summary>True when <paramref name="der"/> hashes to this fingerprint (compared in constant time).</summary>
    public bool Matches(ReadOnlySpan<byte> der) =>
        CryptographicOperations.FixedTimeEquals(Compute(Algorithm, der).Value.ToArray(), Value.ToArray());

    /// <summary>Equality by algorithm and bytes.</summary>
    public bool Equals(DtlsFingerprint? other) =>
        other is not null && other.Algorithm == Algorithm && other.Value.SequenceEqual(Value);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Algorithm, Value.Count > 0 ? Value[0] : 0);

    /// <summary>The SDP form: <c>sha-256 AB:CD:…</c>.</summary>
    public override string ToString()
    {
        var text = new StringBuilder(Algorithm.Length + 1 + Value.Count * 3);
        text.Append(Algorithm).Append(' ');
        for (var i = 0; i < Value.Count; i++)
        {
            if (i > 0) text.Append(':');
            text.Append(Value[i].ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }
}
