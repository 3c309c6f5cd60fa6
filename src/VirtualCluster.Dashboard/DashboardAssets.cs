using System.Collections.Frozen;

namespace VirtualCluster.Dashboard;

/// <summary>The dashboard's files, read from this assembly's resources (logical names "dashboard/&lt;file&gt;").</summary>
internal static class DashboardAssets
{
    private const string Prefix = "dashboard/";
    private static readonly Lazy<FrozenDictionary<string, DashboardAsset>> s_all = new(Load);

    public static FrozenDictionary<string, DashboardAsset> All => s_all.Value;

    private static FrozenDictionary<string, DashboardAsset> Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var assets = new Dictionary<string, DashboardAsset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var name = resource[Prefix.Length..];
            assets[name] = DashboardAsset.Create(name, copy.ToArray());
        }
        if (!assets.ContainsKey("index.html")) throw new InvalidOperationException("the dashboard's index.html is not embedded in VirtualCluster.Dashboard");
        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
