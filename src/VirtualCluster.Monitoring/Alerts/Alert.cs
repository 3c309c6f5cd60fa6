using System.Security.Cryptography;
using System.Text;

namespace VirtualCluster.Monitoring.Alerts;

/// <summary>
/// One alert: what fires (<see cref="Labels"/>, with <c>alertname</c> and <c>severity</c>), what it says
/// (<see cref="Annotations"/>: <c>summary</c>, <c>description</c>), since when, and until when once resolved.
/// </summary>
public sealed record Alert(IReadOnlyDictionary<string, string> Labels, IReadOnlyDictionary<string, string> Annotations, DateTimeOffset StartsAt, DateTimeOffset? EndsAt = null)
{
    /// <summary>The rule's name (the <c>alertname</c> label).</summary>
    public string Name => Labels.TryGetValue("alertname", out var name) ? name : "";

    /// <summary>"firing" or "resolved".</summary>
    public string Status => EndsAt is null ? "firing" : "resolved";

    /// <summary>Identity of the alert: a hash of its labels (sorted), as Alertmanager computes one.</summary>
    public string Fingerprint { get; } = ComputeFingerprint(Labels);

    private static string ComputeFingerprint(IReadOnlyDictionary<string, string> labels)
    {
        var text = new StringBuilder();
        foreach (var (name, value) in labels.OrderBy(l => l.Key, StringComparer.Ordinal)) text.Append(name).Append('\xff').Append(value).Append('\xff');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }
}
