using VirtualCluster.Agent.Connection;
using VirtualCluster.Replication.Volumes;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.Agent.Replication;

/// <summary>TLS between agents for replicas: each presents its node's certificate of the cluster CA and checks the other's.</summary>
internal static class AgentReplicaTls
{
    /// <summary>
    /// TLS with this node's certificate and the CA the agent pins; null when the agent reaches its control plane over
    /// plain http (asked for explicitly: it then never learns the CA), where replicas go over plain TCP as before.
    /// </summary>
    public static ReplicaTls? Create(AgentOptions options, AgentTrust trust, AgentCertificate certificate, TimeProvider time) =>
        trust.Validator is not { } validator || !options.ServerUrl.Contains("https://", StringComparison.OrdinalIgnoreCase) ? null : new ReplicaTls
    {
        Certificate = () => certificate.Current,
        Identify = presented =>
        {
            if (validator.Ca is not { } ca) return (null, "this node does not know the cluster CA yet (it learns it from the control plane)");
            var check = ClientCertificateValidator.Check(presented, ca, time.GetUtcNow());
            return (check.Identity?.NodeId, check.Problem);
        },
    };
}
