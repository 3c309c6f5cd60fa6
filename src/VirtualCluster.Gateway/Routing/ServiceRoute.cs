namespace VirtualCluster.Gateway;

/// <summary>One healthy instance a service's requests may go to.</summary>
/// <param name="InstanceId">Instance id.</param>
/// <param name="NodeId">Node it runs on (the tunnel is looked up by it).</param>
/// <param name="NodeAddress">The node's advertised address, for a direct connection when the node has no tunnel.</param>
/// <param name="Port">The instance's host port (its "http" port, else its first).</param>
public sealed record ServiceEndpoint(string InstanceId, string NodeId, string NodeAddress, int Port);

/// <summary>Where a service's requests go now.</summary>
/// <param name="Name">Service name (the first label of its URL).</param>
/// <param name="Spec">The service's spec as the control plane has it.</param>
/// <param name="Endpoints">Instances that run, pass their checks and sit on a live node.</param>
/// <param name="FailoverUnderway">True while instances are being started, replaced or failed over: a request with no endpoint gets 503 and Retry-After, not 502.</param>
/// <param name="State">One line for error pages: desired and running counts, and what is under way.</param>
public sealed record ServiceRoute(string Name, ServiceSpec Spec, IReadOnlyList<ServiceEndpoint> Endpoints, bool FailoverUnderway, string State);

/// <summary>The services a gateway knows now, refreshed from the control plane.</summary>
public interface IServiceRouteTable
{
    /// <summary>The route of <paramref name="service"/>, or null when no such service is deployed.</summary>
    ServiceRoute? Find(string service);

    /// <summary>Every route.</summary>
    IReadOnlyCollection<ServiceRoute> All { get; }

    /// <summary>True once the table was read from the control plane at least once.</summary>
    bool Loaded { get; }

    /// <summary>When the table was last refreshed successfully.</summary>
    DateTimeOffset? RefreshedAt { get; }

    /// <summary>The route of the service whose spec names <paramref name="domain"/> as a custom domain, or null.</summary>
    ServiceRoute? FindByDomain(string domain) =>
        All.FirstOrDefault(r => r.Spec.Domains.Contains(domain.TrimEnd('.'), StringComparer.OrdinalIgnoreCase));
}

/// <summary>Stable URLs of services.</summary>
public static class GatewayUrls
{
    /// <summary><c>http://&lt;service&gt;.&lt;domain&gt;[:port]/</c>, without the port when it is 80.</summary>
    public static string ForService(string service, string domain, int port) =>
        port == 80 ? $"http://{service}.{domain}/" : $"http://{service}.{domain}:{port}/";
}
