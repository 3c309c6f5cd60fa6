using System.Security.Cryptography.X509Certificates;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.ControlPlane.Tls;

public sealed partial class ClusterTls
{
    private readonly Lock _clientGate = new();
    private X509Certificate2? _controlPlaneClient;
    private DateTimeOffset _controlPlaneClientRenewAt;

    /// <summary>Node client certificates issued by this process (joins and renewals).</summary>
    public int NodeCertificatesIssued => _nodeCertificatesIssued;

    private int _nodeCertificatesIssued;

    /// <summary>
    /// Issues the client certificate of node <paramref name="nodeId"/> at credential <paramref name="generation"/> for
    /// the key of an agent's request (read and checked by <see cref="NodeCertificates.TryReadRequest"/>).
    /// </summary>
    public X509Certificate2 IssueNodeCertificate(PublicKey publicKey, string nodeId, string? generation, TimeSpan lifetime)
    {
        Interlocked.Increment(ref _nodeCertificatesIssued);
        return Ca.IssueClientCertificate(publicKey, new ClientIdentity(nodeId, generation), lifetime, _time);
    }

    /// <summary>
    /// This control plane's client certificate, presented when it forwards an agent's request to the leader (so the
    /// leader may take the agent's certificate from the forwarded header); renewed after two thirds of its life.
    /// </summary>
    public X509Certificate2 ControlPlaneClientCertificate()
    {
        var now = _time.GetUtcNow();
        lock (_clientGate)
        {
            if (_controlPlaneClient is null || now >= _controlPlaneClientRenewAt)
            {
                // The old one is left to the collector: a connection being set up may still hold it.
                _controlPlaneClient = Ca.IssueControlPlaneClientCertificate(_lifetime, _time);
                _controlPlaneClientRenewAt = now + (_controlPlaneClient.NotAfter.ToUniversalTime() - now.UtcDateTime) * 2 / 3;
            }
            return _controlPlaneClient;
        }
    }
}
