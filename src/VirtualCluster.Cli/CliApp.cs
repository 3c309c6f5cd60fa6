using System.CommandLine;
using VirtualCluster.Cli.Commands;

namespace VirtualCluster.Cli;

/// <summary>Entry point of the vcluster command line, separated from <c>Main</c> so tests can run it in-process.</summary>
public static class CliApp
{
    /// <summary>Parses <paramref name="args"/>, runs the command and returns the process exit code (see <see cref="ExitCodes"/>).</summary>
    /// <param name="args">Command-line arguments, without the program name.</param>
    /// <param name="stdout">Where results go.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <param name="handler">HTTP handler to use instead of real sockets (tests).</param>
    /// <param name="environment">Environment variables to use instead of the process's (tests).</param>
    public static Task<int> RunAsync(
        string[] args,
        TextWriter stdout,
        TextWriter stderr,
        HttpMessageHandler? handler = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        return RunAsync(args, CliContext.Create(stdout, stderr, handler, environment ?? EnvironmentExtensions.FromProcess()));
    }

    /// <summary>Runs with a prepared context (tests use it to shorten retries).</summary>
    internal static async Task<int> RunAsync(string[] args, CliContext context)
    {
        var stderr = context.Error;
        var stdout = context.Out;
        var root = CreateRootCommand(context);
        var parseResult = root.Parse(args);

        // Usage errors exit with 2 (the parser's own default is 1, which vcluster keeps for failed operations).
        if (parseResult.Errors.Count > 0)
        {
            foreach (var error in parseResult.Errors) context.WriteError(error.Message);
            var command = parseResult.CommandResult.Command;
            var usage = command is RootCommand ? "vcluster --help" : $"vcluster {command.Name} --help";
            stderr.WriteLine($"Run '{usage}' for usage.");
            return ExitCodes.BadInput;
        }

        try
        {
            return await parseResult.InvokeAsync(new InvocationConfiguration
            {
                Output = stdout,
                Error = stderr,
                EnableDefaultExceptionHandler = false,
            });
        }
        catch (Exception e)
        {
            // Expected failures are handled by CommandRunner; anything reaching here is a bug, so keep the details.
            context.WriteError($"unexpected failure, please report it: {e}");
            return ExitCodes.Failed;
        }
    }

    private static RootCommand CreateRootCommand(CliContext context)
    {
        var global = new GlobalOptions();
        var runner = new CommandRunner(context, global);
        var root = new RootCommand("vcluster: deploy and inspect services on a VirtualCluster control plane.");
        root.Options.Add(global.Server);
        root.Options.Add(global.Token);
        root.Options.Add(global.CaCert);
        root.Subcommands.Add(DeployCommand.Create(runner));
        root.Subcommands.Add(StatusCommand.Create(runner));
        root.Subcommands.Add(TopCommand.Create(runner));
        root.Subcommands.Add(NodesCommand.Create(runner));
        root.Subcommands.Add(ServicesCommand.Create(runner));
        root.Subcommands.Add(RemoveCommand.Create(runner));
        root.Subcommands.Add(LogsCommand.Create(runner));
        root.Subcommands.Add(DrainCommand.Create(runner));
        root.Subcommands.Add(EventsCommand.Create(runner));
        root.Subcommands.Add(ExplainCommand.Create(runner));
        root.Subcommands.Add(RebalanceCommand.Create(runner));
        root.Subcommands.Add(TokenCommand.Create(runner));
        root.Subcommands.Add(UserCommand.Create(runner));
        root.Subcommands.Add(KeysCommand.Create(runner));
        root.Subcommands.Add(AlertsCommand.Create(runner));
        root.Subcommands.Add(HistoryCommand.Create(runner));
        return root;
    }
}
