namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>Runs the real `vcluster` CLI as a process.</summary>
internal static class CliRunner
{
    public static async Task<(int ExitCode, string Output)> RunAsync(IDictionary<string, string> env, params string[] args)
    {
        using var process = TestProcess.StartDotnet(RepoPaths.CliDll, args, env);
        var code = await process.WaitForExitAsync(TimeSpan.FromMinutes(3));
        return (code, process.Output);
    }
}
