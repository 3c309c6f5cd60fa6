namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>Where the built programs are. The tests run them as real processes.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>"debug" or "release": the artifacts folder this test assembly was built into.</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Name;

    public static string HostDll => Built("VirtualCluster.Host.Console", "VirtualCluster.Host.Console.dll");
    public static string CliDll => Built("VirtualCluster.Cli", "vcluster.dll");
    public static string HelloDll => Built("HelloService", "HelloService.dll");
    public static string WebHostDll => Built("VirtualCluster.Host.Web", "VirtualCluster.Host.Web.dll");
    public static string HelloSpec => Path.Combine(Root, "samples", "specs", "hello.json");

    private static string Built(string project, string file)
    {
        var path = Path.Combine(Root, "artifacts", "bin", project, Configuration, file);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} is missing; build the solution first (dotnet build VirtualCluster.Sdk.sln)", path);
        return path;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "VirtualCluster.Sdk.sln"))) return dir.FullName;
        throw new InvalidOperationException("cannot find VirtualCluster.Sdk.sln above " + AppContext.BaseDirectory);
    }
}
