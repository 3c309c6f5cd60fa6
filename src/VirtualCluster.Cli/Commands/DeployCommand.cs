using System.CommandLine;
using System.Text.Json;

namespace VirtualCluster.Cli.Commands;

/// <summary><c>vcluster deploy &lt;file&gt;</c>: sends a spec file and, by default, waits until every instance runs.</summary>
internal static class DeployCommand
{
    public const long MaxSpecBytes = 1024 * 1024;
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(120);

    public static Command Create(CommandRunner runner)
    {
        var file = new Argument<string>("file") { Description = "Service spec file (JSON)." };
        var wait = new Option<bool>("--wait") { Description = "Wait until every instance runs (the default)." };
        var noWait = new Option<bool>("--no-wait") { Description = "Return as soon as the control plane accepted the spec." };
        // Nullable without a default factory so help shows "120s" from the description rather than "00:02:00".
        var timeout = new Option<TimeSpan?>("--timeout")
        {
            Description = $"How long to wait for the instances, e.g. 90s or 5m (default {Duration.Format(DefaultTimeout)}).",
            HelpName = "duration",
            CustomParser = result => Duration.ParseOption(result, DefaultTimeout),
        };

        var command = new Command("deploy", "Deploy a service from a spec file and wait until its instances run.");
        command.Arguments.Add(file);
        command.Options.Add(wait);
        command.Options.Add(noWait);
        command.Options.Add(timeout);
        command.Validators.Add(result =>
        {
            if (result.GetValue(wait) && result.GetValue(noWait)) result.AddError("--wait and --no-wait cannot be combined");
        });

        command.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var spec = ReadSpec(parseResult.GetRequiredValue(file));
            var (service, created) = await client.DeployAsync(spec, ct);
            var context = runner.Context;
            context.Out.WriteLine(created
                ? $"created service \"{service.Spec.Name}\" ({service.Desired} instance(s))"
                : $"service \"{service.Spec.Name}\" is already deployed with this spec");
            if (parseResult.GetValue(noWait))
            {
                WriteStableUrl(context, service);
                return ExitCodes.Ok;
            }
            return await DeployWaiter.WaitAsync(context, client, service, parseResult.GetValue(timeout) ?? DefaultTimeout, ct);
        }, cancellationToken));
        return command;
    }

    /// <summary>The service's stable URL (through the gateway; it follows failovers), when the control plane knows one.</summary>
    public static void WriteStableUrl(CliContext context, VirtualCluster.Api.ServiceView view)
    {
        if (view.Url is null) return;
        context.Out.WriteLine($"stable URL: {view.Url}");
        if (view.Spec.Access == ServiceAccess.Token)
            context.Out.WriteLine($"  it needs a token: vcluster token create --service {view.Spec.Name} --ttl 1h");
    }

    /// <summary>
    /// Cheap local checks before anything is sent. The spec itself is validated by the server,
    /// whose field errors come back with a 400 and are printed by the runner.
    /// </summary>
    private static string ReadSpec(string path)
    {
        if (Directory.Exists(path)) throw new CliException(ExitCodes.BadInput, $"{path} is a directory, not a spec file");
        var info = new FileInfo(path);
        if (!info.Exists) throw new CliException(ExitCodes.BadInput, $"spec file {path} does not exist");
        if (info.Length > MaxSpecBytes)
        {
            throw new CliException(ExitCodes.BadInput,
                $"spec file {path} is {Quantity.FormatBytes(info.Length)}; specs are limited to {Quantity.FormatBytes(MaxSpecBytes)}");
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.BadInput, $"cannot read spec file {path}: {e.Message}");
        }

        try
        {
            // Lenient on comments and trailing commas: the server's parser has the final word on the syntax it accepts.
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions
            {
                CommentHandling = JsonCommentHandling.Skip,
                AllowTrailingCommas = true,
            });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new CliException(ExitCodes.BadInput, $"spec file {path} must hold a JSON object, not {document.RootElement.ValueKind.ToString().ToLowerInvariant()}");
        }
        catch (JsonException e)
        {
            throw new CliException(ExitCodes.BadInput, $"spec file {path} is not valid JSON: {e.Message}");
        }
        return text;
    }
}
