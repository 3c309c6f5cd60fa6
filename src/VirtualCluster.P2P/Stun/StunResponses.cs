using System.Net;

namespace VirtualCluster.P2P.Stun;

/// <summary>Builds Binding responses (RFC 8489 §6.3): what a STUN server and an ICE agent answering checks send.</summary>
public static class StunResponses
{
    /// <summary>
    /// A success response carrying XOR-MAPPED-ADDRESS = <paramref name="source"/>, MESSAGE-INTEGRITY when
    /// <paramref name="key"/> is given, and FINGERPRINT.
    /// </summary>
    public static byte[] BindingSuccess(StunMessage request, IPEndPoint source, ReadOnlySpan<byte> key = default, string? software = null)
    {
        var builder = StunMessageBuilder.ResponseTo(request, success: true).AddXorAddress(StunAttributeType.XorMappedAddress, source);
        if (software is not null) builder.Add(StunAttributeType.Software, software);
        if (!key.IsEmpty) builder.AddMessageIntegrity(key);
        return builder.AddFingerprintAndBuild();
    }

    /// <summary>An error response with ERROR-CODE (and UNKNOWN-ATTRIBUTES for 420), integrity when a key is given, and FINGERPRINT.</summary>
    public static byte[] Error(StunMessage request, int code, string reason, ReadOnlySpan<byte> key = default, IReadOnlyList<ushort>? unknown = null)
    {
        var builder = StunMessageBuilder.ResponseTo(request, success: false).AddErrorCode(code, reason);
        if (unknown is { Count: > 0 }) builder.AddUnknownAttributes(unknown);
        if (!key.IsEmpty) builder.AddMessageIntegrity(key);
        return builder.AddFingerprintAndBuild();
    }

    /// <summary>Comprehension-required attributes of <paramref name="message"/> not in <paramref name="known"/> (RFC 8489 §6.3.1).</summary>
    public static IReadOnlyList<ushort> UnknownComprehensionRequired(StunMessage message, IReadOnlySet<ushort> known)
    {
        List<ushort>? unknown = null;
        foreach (var a in message.Attributes)
        {
            if (StunAttributeType.IsComprehensionRequired(a.Type) && !known.Contains(a.Type)) (unknown ??= []).Add(a.Type);
        }
        return unknown ?? (IReadOnlyList<ushort>)[];
    }
}
