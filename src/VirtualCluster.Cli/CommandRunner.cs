using System.CommandLine;
using System.Net;
using Spectre.Console;
using VirtualCluster.Cli.Http;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli;

/// <summary>Runs a command body against the control plane and turns every expected failure into a message and an exit code.</summary>
internal sealed class CommandRunner(CliContext context, GlobalOptions global)
{
    public CliContext Context => context;

    public async Task<int> RunAsync(
        ParseResult parseResult,
        Func<ControlPlaneClient, CancellationToken, Task<int>> body,
        CancellationToken cancellationToken)
    {
        try
        {
            var settings = ConnectionSettings.Resolve(parseResult.GetValue(global.Server), parseResult.GetValue(global.Token), context.Environment, parseResult.GetValue(global.CaCert));
            foreach (var server in settings.Servers.Where(s => s.Address.Scheme == "http" && !s.Address.IsLoopback))
                context.Error.WriteLine($"warning: {server} is plain HTTP: your token crosses the network in clear text; use the control plane's https:// URL");
            using var client = new ControlPlaneClient(settings, context.Handler, context.Error, context.Retry);
            return await body(client, cancellationToken);
        }
        catch (CliException e)
        {
            context.WriteError(e.Message);
            return e.ExitCode;
        }
        catch (ApiException e)
        {
            return Report(e);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            context.WriteError("cancelled");
            return ExitCodes.Failed;
        }
    }

    private int Report(ApiException e)
    {
        var status = (int)e.Status;
        switch (e.Status)
        {
            case HttpStatusCode.BadRequest:
                context.WriteError(e.Message);
                foreach (var field in (e.Error?.Errors ?? []).Where(f => f is not null))
                    context.Error.WriteLine($"  {field.Field}: {field.Message}");
                return ExitCodes.BadInput;

            case HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden:
                context.WriteError($"the server rejected the token ({status}): {e.Message}; check --token / {ConnectionSettings.TokenVariable}");
                return ExitCodes.Failed;

            case HttpStatusCode.UnprocessableEntity when e.Error?.Placement is { } placement:
                context.WriteError(e.Message);
                if (placement.Shortfalls is { Count: > 0 }) context.ErrorConsole.Write(Tables.Shortfalls(placement));
                if (placement.Filters is { Count: > 0 }) context.ErrorConsole.Write(SchedulingTables.Filters(placement.Filters));
                return ExitCodes.Failed;

            default:
                context.WriteError(e.Message);
                return ExitCodes.Failed;
        }
    }
}
