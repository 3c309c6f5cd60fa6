using System.CommandLine;
using VirtualCluster.Host.Console;

// The console host: `local` runs a whole cluster on this machine; `control-plane`, `agent` and `gateway` run one part.
var root = new RootCommand("VirtualCluster console host: run a local cluster, a control plane, an agent or a gateway.");
root.Subcommands.Add(LocalCommand.Create());
root.Subcommands.Add(ControlPlaneCommand.Create());
root.Subcommands.Add(AgentCommand.Create());
root.Subcommands.Add(GatewayCommand.Create());
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors) Console.Error.WriteLine($"error: {error.Message}");
    Console.Error.WriteLine("Run with --help for usage.");
    return 2;
}
// No forced exit after Ctrl+C: agents need their grace period to stop workloads.
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
