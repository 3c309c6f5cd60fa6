using System.CommandLine;
using System.Globalization;
using VirtualCluster.Api;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary><c>vcluster keys list|rotate|retire</c>: the cluster's token signing keys (admin only).</summary>
internal static class KeysCommand
{
    public static Command Create(CommandRunner runner)
    {
        var command = new Command("keys", "The keys that sign the cluster's tokens (ES256): list them, or replace them now.");
        command.Subcommands.Add(List(runner));
        command.Subcommands.Add(Rotate(runner));
        command.Subcommands.Add(Retire(runner));
        return command;
    }

    private static Command List(CommandRunner runner)
    {
        var output = GlobalOptions.CreateOutputOption();
        var list = new Command("list", "List the signing keys: signing (in use), retiring (rotated out, its tokens still accepted) or retired.");
        list.Options.Add(output);
        list.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var keys = await client.ListKeysAsync(ct);
            if (parseResult.GetValue(output) == "json") JsonOutput.Write(runner.Context.Out, keys);
            else Print(runner, keys);
            return ExitCodes.Ok;
        }, cancellationToken));
        return list;
    }

    private static Command Rotate(CommandRunner runner)
    {
        var output = GlobalOptions.CreateOutputOption();
        var rotate = new Command("rotate",
            "Make new signing keys now: every control plane replaces its key within seconds; tokens signed before stay valid until they expire.");
        rotate.Options.Add(output);
        rotate.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var keys = await client.RotateKeysAsync(ct);
            if (parseResult.GetValue(output) == "json")
            {
                JsonOutput.Write(runner.Context.Out, keys);
                return ExitCodes.Ok;
            }
            Print(runner, keys);
            var retiring = keys.Keys.Where(k => k.State == "retiring" && k.RetireAfter is not null).Select(k => k.RetireAfter!.Value).DefaultIfEmpty().Max();
            runner.Context.Out.WriteLine(retiring == default
                ? "rotated; new tokens are signed with the new key"
                : string.Create(CultureInfo.InvariantCulture,
                    $"rotated; new tokens are signed with the new key, tokens of the old keys are accepted until they expire (at the latest {retiring:yyyy-MM-dd HH:mm} UTC). The admin.token and join.token files were issued again."));
            return ExitCodes.Ok;
        }, cancellationToken));
        return rotate;
    }

    private static Command Retire(CommandRunner runner)
    {
        var output = GlobalOptions.CreateOutputOption();
        var kid = new Argument<string>("kid") { Description = "The key's id, as `vcluster keys list` shows it." };
        var retire = new Command("retire",
            "Refuse a key's tokens from now on, without the grace a rotation gives (for a key that may be stolen); a control plane signing with it makes a new key.");
        retire.Arguments.Add(kid);
        retire.Options.Add(output);
        retire.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var id = parseResult.GetValue(kid)!;
            var keys = await client.RetireKeyAsync(id, ct);
            if (parseResult.GetValue(output) == "json")
            {
                JsonOutput.Write(runner.Context.Out, keys);
                return ExitCodes.Ok;
            }
            Print(runner, keys);
            runner.Context.Out.WriteLine($"retired {id}: every token it signed is refused now (on other control planes within seconds). " +
                "Users and agents holding such tokens need new ones; the admin.token and join.token files were issued again.");
            return ExitCodes.Ok;
        }, cancellationToken));
        return retire;
    }

    private static void Print(CommandRunner runner, TokenKeysResponse keys)
    {
        runner.Context.OutConsole.Write(Tables.Keys(keys));
        runner.Context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"keys rotate every {keys.RotateEvery.TotalDays:0.#} days (* = the control plane that answered signs with it)"));
        if (keys.LegacyUntil is { } legacy)
            runner.Context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tokens of the cluster's old HMAC key are accepted until {legacy:yyyy-MM-dd HH:mm} UTC"));
    }
}
