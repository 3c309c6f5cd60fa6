using System.CommandLine;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary><c>vcluster services</c>: the services table.</summary>
internal static class ServicesCommand
{
    public static Command Create(CommandRunner runner)
    {
        var output = GlobalOptions.CreateOutputOption();
        var command = new Command("services", "List the services with their instances.");
        command.Options.Add(output);
        command.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var services = await client.ListServicesAsync(ct);
            var context = runner.Context;
            if (parseResult.GetValue(output) == "json") JsonOutput.Write(context.Out, services);
            else if (services.Count == 0) context.Out.WriteLine("no services deployed");
            else
            {
                context.OutConsole.Write(Tables.Services(services));
                if (DomainTables.Any(services)) context.OutConsole.Write(DomainTables.Domains(services));
                if (ReplicaTables.Any(services)) context.OutConsole.Write(ReplicaTables.Replicas(services, DateTimeOffset.UtcNow));
            }
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }
}
