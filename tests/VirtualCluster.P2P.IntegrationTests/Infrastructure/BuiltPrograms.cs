namespace VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>Where the built peer program is (artifacts/bin/VirtualCluster.P2P.Peer/&lt;configuration&gt;/).</summary>
public static class BuiltPrograms
{
    public static string Root { get; } = FindRoot();

    public static string PeerDll
    {
        get
        {
            var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Name;
            foreach (var config in new[] { configuration, "debug", "release" })
            {
                var path = Path.Combine(Root, "artifacts", "bin", "VirtualCluster.P2P.Peer", config, "VirtualCluster.P2P.Peer.dll");
                if (File.Exists(path)) return path;
            }
            throw new FileNotFoundException("VirtualCluster.P2P.Peer.dll is missing; build the solution first (dotnet build VirtualCluster.Sdk.sln)");
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "VirtualCluster.Sdk.sln"))) return dir.FullName;
        throw new InvalidOperationException("cannot find VirtualCluster.Sdk.sln above " + AppContext.BaseDirectory);
    }
}
