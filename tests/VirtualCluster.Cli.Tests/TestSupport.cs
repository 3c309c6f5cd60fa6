using VirtualCluster.Api;

namespace VirtualCluster.Cli.Tests;

public sealed record CliResult(int ExitCode, string Out, string Err)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Out}\n--- stderr ---\n{Err}";
}

/// <summary>Runs the CLI in-process with captured output.</summary>
public static class Cli
{
    public const string Server = "http://cp.test:7070";
    public const string Token = "test-token";

    /// <summary>An environment with server and token set and a home without a config file.</summary>
    public static Dictionary<string, string?> Environment(TempDirectory home) => new()
    {
        ["VCLUSTER_SERVER"] = Server,
        ["VCLUSTER_TOKEN"] = Token,
        ["HOME"] = home.Path,
    };

    public static async Task<CliResult> RunAsync(FakeControlPlaneHandler? handler, IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args, stdout, stderr, handler, environment);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs with shortened retry limits; a null handler means real sockets.</summary>
    internal static async Task<CliResult> RunAsync(HttpMessageHandler? handler, IReadOnlyDictionary<string, string?> environment, Http.RetryLimits retry,
        params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args, CliContext.Create(stdout, stderr, handler, environment, retry));
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    public static async Task<CliResult> RunAsync(FakeControlPlaneHandler handler, params string[] args)
    {
        using var home = new TempDirectory();
        return await RunAsync(handler, Environment(home), args);
    }
}

public sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("vcluster-cli-tests-").FullName;

    public string File(string name, string content)
    {
        var path = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>Builders for API objects with readable defaults.</summary>
public static class TestData
{
    private static readonly DateTimeOffset Created = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public static ServiceSpec Spec(string name, int replicas = 2) => new()
    {
        Name = name,
        Driver = "process",
        Command = "dotnet",
        Args = ["HelloService.dll"],
        Replicas = replicas,
        Resources = new Resources(250, 128L << 20, 0),
        Ports = [new PortSpec("http")],
    };

    public static InstanceView Instance(string id, string service, string node, InstanceState state, string reason = "", params string[] urls) =>
        new(new ServiceInstance(id, service, $"{node}-id", 7, new Dictionary<string, int> { ["http"] = 20001 }, state, reason, Created, Created),
            node,
            urls);

    public static ServiceView Service(string name, int desired, params InstanceView[] instances) =>
        new(Spec(name, desired), Created, desired, instances.Count(i => i.Instance.State == InstanceState.Running), instances);

    public static NodeView Node(string name, NodeState state = NodeState.Alive, int instances = 2) =>
        new(new NodeInfo(
                $"{name}-id",
                name,
                "10.0.0.5",
                new Resources(4000, 8L << 30, 100L << 30),
                new ResourceUsage(800, 2L << 30, 10L << 30),
                ["process"],
                new PortRange(20000, 20999),
                new Dictionary<string, string>(),
                state,
                Created),
            new Resources(1500, 3L << 30, 0),
            instances);
}
