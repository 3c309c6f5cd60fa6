using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace VirtualCluster.Replication.Volumes;

/// <summary>
/// TLS for replica connections between nodes: each side presents its own certificate (<see cref="Certificate"/>, with
/// its key) and checks the other's with <see cref="Identify"/>, which names the node a certificate speaks for. The
/// sender accepts only the holder it meant to reach; the holder accepts only a sender whose certificate names the node
/// its token names. So neither the token nor the data crosses the network in clear, and a machine in the middle gets
/// neither.
/// </summary>
public sealed class ReplicaTls
{
    /// <summary>This node's certificate with its private key; null while it has none (then it neither sends nor serves over TLS).</summary>
    public required Func<X509Certificate2?> Certificate { get; init; }

    /// <summary>The node a peer's certificate speaks for, or why it is refused.</summary>
    public required Func<X509Certificate2, (string? NodeId, string? Problem)> Identify { get; init; }

    /// <summary>First byte of a TLS handshake record: how a holder tells TLS from the plain protocol on one port.</summary>
    internal const byte HandshakeByte = 0x16;

    /// <summary>Name sent as SNI; certificates are checked by <see cref="Identify"/>, not by host name.</summary>
    internal const string TargetHost = "vcluster-replica";

    internal static readonly RemoteCertificateValidationCallback AcceptForLaterCheck = (_, _, _, _) => true;
}
