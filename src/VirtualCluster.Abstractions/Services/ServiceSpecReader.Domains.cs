using System.Text.Json;

namespace VirtualCluster;

internal sealed partial class ServiceSpecReader
{
    /// <summary>Most custom domains one service may name (each costs a DNS check and a certificate).</summary>
    public const int MaxDomains = 10;

    /// <summary>
    /// <c>"domains": ["app.example.com"]</c>: plain DNS names of at least two labels, no wildcard, no IP address, no
    /// repeats. Whether a name is under the cluster domain or claimed by another service is checked at deploy time,
    /// where the cluster domain and the other services are known.
    /// </summary>
    private IReadOnlyList<string> ReadDomains(Dictionary<string, JsonElement> fields, string? service)
    {
        if (!fields.TryGetValue("domains", out var value)) return [];
        if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > MaxDomains)
        {
            reader.Error("domains", $"has {value.GetArrayLength()} entries; a service may name at most {MaxDomains} domains: split them over several services");
            return [];
        }
        var items = reader.Array(value, "domains", MaxDomains, "[\"app.example.com\"]");
        if (items is null) return [];
        var domains = new List<string>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var path = SpecPath.Item("domains", i);
            var text = reader.Text(items[i], path, 253, "\"app.example.com\"");
            if (text is null) continue;
            var domain = text.TrimEnd('.').ToLowerInvariant();
            if (DomainProblem(domain) is { } problem)
            {
                reader.Error(path, $"{SpecText.Quote(text)} {problem}");
                continue;
            }
            if (domains.Contains(domain))
            {
                reader.Error(path, $"{SpecText.Quote(text)} is listed twice; name each domain once");
                continue;
            }
            domains.Add(domain);
        }
        return domains;
    }

    /// <summary>What is wrong with <paramref name="domain"/> (lower case, no trailing dot) as a custom domain, or null.</summary>
    public static string? DomainProblem(string domain)
    {
        if (domain.Contains('*'))
            return "is a wildcard; name each host exactly (e.g. \"app.example.com\"): certificates for custom domains are ordered per name over HTTP-01";
        if (System.Net.IPAddress.TryParse(domain, out _)) return "is an IP address; give a DNS name like \"app.example.com\" that resolves to a gateway";
        if (domain.Length is 0 or > 253) return "must be a DNS name of 1-253 characters like \"app.example.com\"";
        var labels = domain.Split('.');
        if (labels.Length < 2) return "needs at least two labels, like \"app.example.com\" (a bare name cannot get a public certificate)";
        foreach (var label in labels)
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-' || !label.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
                return $"is not a DNS name: each dot-separated label is 1-63 of a-z, 0-9 and '-' (not first or last), like \"app.example.com\"";
        return null;
    }
}
