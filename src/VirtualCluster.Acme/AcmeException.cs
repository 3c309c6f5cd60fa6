namespace VirtualCluster.Acme;

/// <summary>The CA refused a request: its problem document (RFC 7807, RFC 8555 6.7), or a protocol step that failed.</summary>
public sealed class AcmeException(string type, string detail, int status) : Exception($"ACME: {detail} ({type}, HTTP {status})")
{
    /// <summary>The problem type, e.g. <c>urn:ietf:params:acme:error:badNonce</c>.</summary>
    public string Type { get; } = type;

    /// <summary>The CA's explanation.</summary>
    public string Detail { get; } = detail;

    /// <summary>The HTTP status (0 when no response carried it).</summary>
    public int Status { get; } = status;
}
