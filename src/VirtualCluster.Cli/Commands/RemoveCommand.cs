using System.CommandLine;

namespace VirtualCluster.Cli.Commands;

/// <summary><c>vcluster rm &lt;service&gt;</c>: removes a service and stops its instances.</summary>
internal static class RemoveCommand
{
    public static Command Create(CommandRunner runner)
    {
        var service = new Argument<string>("service") { Description = "Name of the service to remove." };
        var command = new Command("rm", "Remove a service; its instances are stopped.");
        command.Arguments.Add(service);
        command.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var name = parseResult.GetRequiredValue(service);
            await client.DeleteServiceAsync(name, ct);
            runner.Context.Out.WriteLine($"removed service \"{name}\"");
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }
}
