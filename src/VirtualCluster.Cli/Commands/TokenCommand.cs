using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using VirtualCluster.Api;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary>
/// <c>vcluster token create --service X --ttl 1h</c>: a service token for a service with <c>"access": "token"</c>;
/// <c>vcluster token create --user X [--role viewer] --ttl 8h</c>: a token for a named user;
/// <c>vcluster token create --join [--ttl 1h] [--uses 1]</c>: a join token for new machines (see <see cref="JoinTokenCommands"/>).
/// </summary>
internal static class TokenCommand
{
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromHours(1);

    /// <summary>Longest lifetime the control plane issues for a service token (TokenService.MaxServiceTokenLifetime).</summary>
    public static readonly TimeSpan MaxTtl = TimeSpan.FromDays(30);

    /// <summary>Longest lifetime the control plane issues for a user token (TokenService.MaxUserTokenLifetime).</summary>
    public static readonly TimeSpan MaxUserTtl = TimeSpan.FromDays(90);

    public static Command Create(CommandRunner runner)
    {
        var service = new Option<string>("--service", "-s") { Description = "The service the token opens.", HelpName = "name" };
        var user = new Option<string>("--user", "-u") { Description = "The user the token speaks for (see `vcluster user`).", HelpName = "name" };
        var role = new Option<string>("--role", "-r") { Description = "With --user: admin, operator or viewer, at most the user's role (default the user's role).", HelpName = "role" };
        role.AcceptOnlyFromAmong(UserCommand.Roles);
        var join = new Option<bool>("--join") { Description = "A join token: lets new machines join the cluster (admin only)." };
        var uses = new Option<int?>("--uses") { Description = "With --join: how many machines may join with it (1 = single use; default no limit).", HelpName = "n" };
        var note = new Option<string>("--description") { Description = "With --join: a note shown by `vcluster token list`, e.g. who it is for.", HelpName = "text" };
        var ttl = new Option<TimeSpan?>("--ttl")
        {
            Description = "How long the token works, e.g. 30m, 8h, 7d (default 1h; at most 30d for a service or a join token, 90d for a user).",
            HelpName = "duration",
            CustomParser = ParseTtl,
        };
        var output = GlobalOptions.CreateOutputOption();
        var create = new Command("create", "Create a token that opens a service's stable URL (--service), a token for a user (--user), or a join token for new machines (--join).");
        create.Options.Add(service);
        create.Options.Add(user);
        create.Options.Add(role);
        create.Options.Add(ttl);
        create.Options.Add(join);
        create.Options.Add(uses);
        create.Options.Add(note);
        create.Options.Add(output);
        create.Validators.Add(result =>
        {
            var forService = result.GetResult(service) is not null;
            var forUser = result.GetResult(user) is not null;
            var forJoin = result.GetValue(join);
            if ((forService ? 1 : 0) + (forUser ? 1 : 0) + (forJoin ? 1 : 0) != 1)
                result.AddError("name what the token is for, one of: --service <name> (opens a service's URL), --user <name> (a person) or --join (new machines)");
            else if (!forJoin && (result.GetResult(uses) is not null || result.GetResult(note) is not null))
                result.AddError("--uses and --description go with --join");
            else if (forJoin && result.GetResult(role) is not null)
                result.AddError("--role goes with --user; a join token only lets machines join");
            else if (forJoin && result.GetValue(uses) is { } n && (n < 1 || n > 100_000))
                result.AddError($"invalid --uses {n}: give 1 to 100000 (1 = single use), or leave it out for no limit");
            else if (forJoin && result.GetResult(ttl) is { Tokens: [var joinTtl, ..] } && TryParse(joinTtl.Value.Trim(), out var joinAsked, out _) && joinAsked > MaxTtl)
                result.AddError("invalid --ttl: join tokens live at most 30 days (30d); create a new one when it runs out");
            else if (forService && result.GetResult(role) is not null)
                result.AddError("--role goes with --user; a service token opens one service and has no role");
            // The option's own parser reports a malformed --ttl; this only adds the service's lower bound.
            else if (forService && result.GetResult(ttl) is { Tokens: [var text, ..] } && TryParse(text.Value.Trim(), out var asked, out _) && asked > MaxTtl)
                result.AddError("invalid --ttl: service tokens live at most 30 days (30d); create a new one when it runs out");
        });
        create.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var lifetime = parseResult.GetValue(ttl) ?? DefaultTtl;
            var json = parseResult.GetValue(output) == "json";
            var context = runner.Context;
            if (parseResult.GetValue(join))
                return await JoinTokenCommands.CreateAsync(client, context, new JoinTokenRequest(lifetime, parseResult.GetValue(uses), parseResult.GetValue(note)), json, ct);
            if (parseResult.GetValue(user) is { } userName)
            {
                var forUser = await client.CreateUserTokenAsync(userName, new UserTokenRequest(parseResult.GetValue(role), lifetime), ct);
                if (json) JsonOutput.Write(context.Out, forUser);
                else
                {
                    context.Out.WriteLine(forUser.Token);
                    context.Error.WriteLine($"{forUser.Role} token for user \"{forUser.User}\", valid until {forUser.ExpiresAt.ToUniversalTime():yyyy-MM-dd HH:mm:ss} UTC; use it with --token or VCLUSTER_TOKEN");
                }
                return ExitCodes.Ok;
            }
            var request = new ServiceTokenRequest(parseResult.GetRequiredValue(service), lifetime);
            var issued = await client.CreateServiceTokenAsync(request, ct);
            if (json)
            {
                JsonOutput.Write(context.Out, issued);
                return ExitCodes.Ok;
            }
            // The token alone on stdout, so `TOKEN=$(vcluster token create ...)` works; the rest goes to stderr.
            context.Out.WriteLine(issued.Token);
            context.Error.WriteLine($"token for service \"{issued.Service}\", valid until {issued.ExpiresAt.ToUniversalTime():yyyy-MM-dd HH:mm:ss} UTC");
            if (issued.Url is { } url)
                context.Error.WriteLine($"open {url}{(url.Contains('?', StringComparison.Ordinal) ? "&" : "?")}vc_token=<token> in a browser, or send Authorization: Bearer <token>");
            if (issued.Access != ServiceAccess.Token)
                context.Error.WriteLine($"note: \"{issued.Service}\" is public, so the gateway does not check tokens for it; set \"access\": \"token\" in its spec to require one");
            return ExitCodes.Ok;
        }, cancellationToken));

        var command = new Command("token", "Create tokens for services (their stable URLs), for users and for joining machines; list and revoke join tokens.");
        command.Subcommands.Add(create);
        command.Subcommands.Add(JoinTokenCommands.List(runner));
        command.Subcommands.Add(JoinTokenCommands.Revoke(runner));
        return command;
    }

    /// <summary>"90s", "30m", "1h", "7d" (a bare number means seconds): positive and at most 30 days.</summary>
    internal static TimeSpan? ParseTtl(ArgumentResult result)
    {
        if (result.Tokens.Count == 0) return DefaultTtl;
        var text = result.Tokens[0].Value.Trim();
        if (TryParse(text, out var value, out var problem)) return value;
        result.AddError($"invalid --ttl '{text}': {problem}");
        return DefaultTtl;
    }

    internal static bool TryParse(string text, out TimeSpan value, out string problem)
    {
        value = default;
        problem = "use a positive duration such as 30m, 1h or 7d (units s, m, h, d; at most 30d for a service, 90d for a user)";
        if (string.IsNullOrEmpty(text)) return false;
        var (number, unit) = char.ToLowerInvariant(text[^1]) switch
        {
            's' => (text[..^1], TimeSpan.FromSeconds(1)),
            'm' => (text[..^1], TimeSpan.FromMinutes(1)),
            'h' => (text[..^1], TimeSpan.FromHours(1)),
            'd' => (text[..^1], TimeSpan.FromDays(1)),
            _ => (text, TimeSpan.FromSeconds(1)),
        };
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount) || double.IsInfinity(amount))
            return false;
        if (amount <= 0 || amount * unit.TotalSeconds < 1)
        {
            problem = "the token must live at least 1 second; use e.g. 30m or 1h";
            return false;
        }
        if (amount * unit.TotalSeconds > MaxUserTtl.TotalSeconds)
        {
            problem = "tokens live at most 90 days (90d) for a user and 30 days (30d) for a service; create a new one when it runs out";
            return false;
        }
        value = TimeSpan.FromSeconds(Math.Round(amount * unit.TotalSeconds));
        return true;
    }
}
