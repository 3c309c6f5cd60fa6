using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Cluster;

public sealed partial class ClusterService
{
    /// <summary>
    /// Checks a spec's custom domains against the cluster (the parser checked their form): none under the cluster
    /// domain (those names are the gateway's own, <c>&lt;service&gt;.&lt;domain&gt;</c>), none named by another
    /// service. Called under the placement lock, so two deploys cannot claim one domain at once.
    /// </summary>
    private async Task<ApiError?> DomainErrorAsync(ServiceSpec spec, CancellationToken ct)
    {
        if (spec.Domains.Count == 0) return null;
        var errors = new List<FieldError>();
        var claimed = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var other in await Store.ListServicesAsync(ct))
        {
            if (other.Spec.Name == spec.Name) continue;
            foreach (var domain in other.Spec.Domains) claimed[domain] = other.Spec.Name;
        }
        for (var i = 0; i < spec.Domains.Count; i++)
        {
            var domain = spec.Domains[i];
            if (_clusterDomain is { } cluster && (domain == cluster || domain.EndsWith("." + cluster, StringComparison.OrdinalIgnoreCase)))
                errors.Add(new FieldError($"domains[{i}]", $"\"{domain}\" is under the cluster domain {cluster}, whose names the gateway gives every service itself (http://{spec.Name}.{cluster}/); name a domain outside {cluster}, or drop it"));
            else if (claimed.TryGetValue(domain, out var owner))
                errors.Add(new FieldError($"domains[{i}]", $"\"{domain}\" is already claimed by service \"{owner}\"; remove it from \"{owner}\" first (`vcluster rm {owner}` and deploy it without the domain) or name another domain"));
        }
        if (errors.Count == 0) return null;
        var more = errors.Count > 1 ? $" (and {errors.Count - 1} more problem(s), listed in errors)" : "";
        return new ApiError($"the service spec is invalid: {errors[0].Field}: {errors[0].Message}{more}", errors);
    }
}
