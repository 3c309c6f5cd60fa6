using System.CommandLine;
using VirtualCluster.Api;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary><c>vcluster user add|list|rm</c>: the cluster's named users (admin only).</summary>
internal static class UserCommand
{
    public static readonly string[] Roles = ["admin", "operator", "viewer"];

    public static Command Create(CommandRunner runner)
    {
        var command = new Command("user", "Manage the cluster's users: admins manage everything, operators run services, viewers look.");
        command.Subcommands.Add(Add(runner));
        command.Subcommands.Add(List(runner));
        command.Subcommands.Add(Remove(runner));
        return command;
    }

    private static Command Add(CommandRunner runner)
    {
        var name = new Argument<string>("name") { Description = "The user's name: a-z, 0-9, '.', '_' and '-', starting with a letter." };
        var role = new Option<string>("--role", "-r") { Description = "admin, operator or viewer.", Required = true, HelpName = "role" };
        role.AcceptOnlyFromAmong(Roles);
        var add = new Command("add", "Add a user; then `vcluster token create --user <name>` gives it a token.");
        add.Arguments.Add(name);
        add.Options.Add(role);
        add.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var user = await client.AddUserAsync(new AddUserRequest(parseResult.GetRequiredValue(name), parseResult.GetRequiredValue(role)), ct);
            runner.Context.Out.WriteLine($"added user \"{user.Name}\" ({user.Role}); create a token with `vcluster token create --user {user.Name} --ttl 8h`");
            return ExitCodes.Ok;
        }, cancellationToken));
        return add;
    }

    private static Command List(CommandRunner runner)
    {
        var output = GlobalOptions.CreateOutputOption();
        var list = new Command("list", "List the users and their roles.");
        list.Options.Add(output);
        list.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var users = await client.ListUsersAsync(ct);
            if (parseResult.GetValue(output) == "json") JsonOutput.Write(runner.Context.Out, users);
            else if (users.Count == 0) runner.Context.Out.WriteLine("no users yet; add one with `vcluster user add <name> --role viewer`");
            else runner.Context.OutConsole.Write(Tables.Users(users));
            return ExitCodes.Ok;
        }, cancellationToken));
        return list;
    }

    private static Command Remove(CommandRunner runner)
    {
        var name = new Argument<string>("name") { Description = "The user to remove." };
        var rm = new Command("rm", "Remove a user; every token issued for it stops working within a second.");
        rm.Arguments.Add(name);
        rm.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var user = parseResult.GetRequiredValue(name);
            await client.RemoveUserAsync(user, ct);
            runner.Context.Out.WriteLine($"removed user \"{user}\"; its tokens no longer work");
            return ExitCodes.Ok;
        }, cancellationToken));
        return rm;
    }
}
