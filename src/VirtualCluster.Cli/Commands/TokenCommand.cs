using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using VirtualCluster.Api;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary><c>vcluster token create --service X --ttl 1h</c>: a service token for a service with <c>"access": "token"</c>.</summary>
internal static class TokenCommand
{
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromHours(1);

    /// <summary>Longest lifetime the control plane issues (TokenService.MaxServiceTokenLifetime).</summary>
    public static readonly TimeSpan MaxTtl = TimeSpan.FromDays(30);

    public static Command Create(CommandRunner runner)
    {
        var service = new Option<string>("--service", "-s") { Description = "The service the token opens.", Required = true, HelpName = "name" };
        var ttl = new Option<TimeSpan?>("--ttl")
        {
            Description = "How long the token works, e.g. 30m, 1h, 7d (default 1h, at most 30d).",
            HelpName = "duration",
            CustomParser = ParseTtl,
        };
        var output = GlobalOptions.CreateOutputOption();
        var create = new Command("create", "Create a token that opens a service's stable URL (for services with \"access\": \"token\").");
        create.Options.Add(service);
        create.Options.Add(ttl);
        create.Options.Add(output);
        create.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var request = new ServiceTokenRequest(parseResult.GetRequiredValue(service), parseResult.GetValue(ttl) ?? DefaultTtl);
            var issued = await client.CreateServiceTokenAsync(request, ct);
            var context = runner.Context;
            if (parseResult.GetValue(output) == "json")
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

        var command = new Command("token", "Manage service access tokens.");
        command.Subcommands.Add(create);
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
        problem = "use a positive duration such as 30m, 1h or 7d (units s, m, h, d; at most 30d)";
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
        if (amount * unit.TotalSeconds > MaxTtl.TotalSeconds)
        {
            problem = "service tokens live at most 30 days (30d); create a new one when it runs out";
            return false;
        }
        value = TimeSpan.FromSeconds(Math.Round(amount * unit.TotalSeconds));
        return true;
    }
}
