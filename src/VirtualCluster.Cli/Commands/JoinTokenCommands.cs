using System.CommandLine;
using VirtualCluster.Api;
using VirtualCluster.Cli.Http;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary><c>vcluster token create --join</c>, <c>vcluster token list</c> and <c>vcluster token revoke &lt;id&gt;</c>: join tokens (admin only).</summary>
internal static class JoinTokenCommands
{
    public static async Task<int> CreateAsync(ControlPlaneClient client, CliContext context, JoinTokenRequest request, bool json, CancellationToken ct)
    {
        var issued = await client.CreateJoinTokenAsync(request, ct);
        if (json)
        {
            JsonOutput.Write(context.Out, issued);
            return ExitCodes.Ok;
        }
        // The token alone on stdout, so `TOKEN=$(vcluster token create --join)` works; the rest goes to stderr.
        context.Out.WriteLine(issued.Token);
        var uses = issued.Uses switch { null => "any number of machines", 1 => "one machine", var n => $"{n} machines" };
        context.Error.WriteLine($"join token {issued.Id} for {uses}, valid until {issued.ExpiresAt.ToUniversalTime():yyyy-MM-dd HH:mm:ss} UTC; " +
            $"start an agent with --join-token <token>; revoke it with `vcluster token revoke {issued.Id}`");
        return ExitCodes.Ok;
    }

    public static Command List(CommandRunner runner)
    {
        var output = GlobalOptions.CreateOutputOption();
        var list = new Command("list", "List the join tokens (not the tokens themselves): expiry, uses and whether revoked.");
        list.Options.Add(output);
        list.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var tokens = await client.ListJoinTokensAsync(ct);
            if (parseResult.GetValue(output) == "json") JsonOutput.Write(runner.Context.Out, tokens);
            else if (tokens.Count == 0) runner.Context.Out.WriteLine("no join tokens; create one with `vcluster token create --join --ttl 1h --uses 1`");
            else runner.Context.OutConsole.Write(Tables.JoinTokens(tokens));
            return ExitCodes.Ok;
        }, cancellationToken));
        return list;
    }

    public static Command Revoke(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "The join token's id, from `vcluster token list`." };
        var revoke = new Command("revoke", "Revoke a join token: machines can no longer join with it (machines that joined stay).");
        revoke.Arguments.Add(id);
        revoke.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var token = await client.RevokeJoinTokenAsync(parseResult.GetRequiredValue(id), ct);
            runner.Context.Out.WriteLine($"revoked join token {token.Id}{(token.Bootstrap ? " (the bootstrap token in join.token)" : "")}; it admitted {token.Used} join(s)");
            return ExitCodes.Ok;
        }, cancellationToken));
        return revoke;
    }
}
