using System.Text.Json;

namespace VirtualCluster;

/// <summary>
/// Walks a spec document field by field and builds a <see cref="ServiceSpec"/>. Every field is read even after an
/// error so the user sees all problems at once; the spec is only built when there were none.
/// </summary>
internal sealed partial class ServiceSpecReader(SpecReader reader)
{
    public const string ProcessDriver = "process";
    public const string DockerDriver = "docker";
    public const int MaxText = 4096;
    public const int MaxArgs = 256;
    public const int MaxReplicas = 1000;

    private const string Root = SpecPath.Root;

    private static readonly string[] TopFields =
    [
        "name", "driver", "command", "image", "args", "workingDirectory", "replicas", "resources",
        "ports", "env", "secrets", "volumes", "healthCheck", "restartPolicy", "placement", "failover", "access", "domains", "browserDirect",
    ];

    private static readonly string[] Drivers = [ProcessDriver, DockerDriver];

    public ServiceSpec? Read(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            reader.Error(Root, $"a service spec must be a JSON object like {{\"name\": \"hello\", \"command\": \"dotnet\"}}, not {SpecText.Describe(root.ValueKind)}");
            return null;
        }
        var fields = reader.Fields(root, Root, TopFields, "{}")!;
        var name = ReadName(fields);
        var driver = fields.TryGetValue("driver", out var d) ? reader.Choice(d, "driver", Drivers, "a driver") : ProcessDriver;
        var command = OptionalText(fields, "command", "\"dotnet\"");
        var image = OptionalText(fields, "image", "\"nginx:1.27\"");
        CheckDriverFields(driver, fields);
        var args = ReadArgs(fields);
        var workingDirectory = OptionalText(fields, "workingDirectory", "\"/srv/app\"");
        var replicas = fields.TryGetValue("replicas", out var r) ? reader.Integer(r, "replicas", 1, MaxReplicas) : 1;
        var resources = ReadResources(fields);
        var ports = ReadPorts(fields);
        var env = ReadEnv(fields);
        var secrets = ReadSecrets(fields, env);
        var volumes = ReadVolumes(fields);
        var healthCheck = ReadHealthCheck(fields, ports);
        var restartPolicy = ReadRestartPolicy(fields);
        var placement = ReadPlacement(fields);
        var failover = ReadFailover(fields);
        var access = ReadAccess(fields);
        var domains = ReadDomains(fields, name);
        var browserDirect = ReadBrowserDirect(fields);

        if (reader.HasErrors || name is null || driver is null) return null;
        return new ServiceSpec
        {
            Name = name,
            Driver = driver,
            Command = command,
            Image = image,
            Args = args,
            WorkingDirectory = workingDirectory,
            Replicas = (int)(replicas ?? 1),
            Resources = resources,
            Ports = ports,
            Env = env,
            Secrets = secrets,
            Volumes = volumes,
            HealthCheck = healthCheck,
            RestartPolicy = restartPolicy,
            Placement = placement,
            Failover = failover,
            Access = access,
            Domains = domains,
            BrowserDirect = browserDirect,
        };
    }

    private string? ReadName(Dictionary<string, JsonElement> fields)
    {
        if (!fields.TryGetValue("name", out var value))
        {
            reader.Error("name", "is required; give the service a name like \"hello\"");
            return null;
        }
        return DnsLabel(value, "name", "\"hello-api\"");
    }

    /// <summary>Reads a DNS-label string and explains what is wrong with it.</summary>
    private string? DnsLabel(JsonElement value, string path, string example)
    {
        var text = reader.Text(value, path, int.MaxValue, example, allowEmpty: true);
        if (text is null) return null;
        var problem = SpecRules.DnsLabelProblem(text);
        if (problem is null) return text;
        reader.Error(path, $"{SpecText.Quote(text)} {problem}; {SpecRules.DnsLabelHelp}, e.g. {example}");
        return null;
    }

    private string? OptionalText(Dictionary<string, JsonElement> fields, string name, string example) =>
        fields.TryGetValue(name, out var value) ? reader.Text(value, name, MaxText, example) : null;

    /// <summary>The process driver runs a command; the docker driver runs an image (the command then overrides its entrypoint).</summary>
    private void CheckDriverFields(string? driver, Dictionary<string, JsonElement> fields)
    {
        if (driver == ProcessDriver)
        {
            if (!fields.ContainsKey("command"))
                reader.Error("command", "is required when driver is \"process\"; name the program to run, e.g. \"dotnet\"");
            if (fields.ContainsKey("image"))
                reader.Error("image", "is only allowed when driver is \"docker\"; remove it, or set \"driver\": \"docker\"");
        }
        else if (driver == DockerDriver && !fields.ContainsKey("image"))
        {
            reader.Error("image", "is required when driver is \"docker\"; name the image to run, e.g. \"nginx:1.27\"");
        }
    }

    private IReadOnlyList<string> ReadArgs(Dictionary<string, JsonElement> fields)
    {
        if (!fields.TryGetValue("args", out var value)) return [];
        var items = reader.Array(value, "args", MaxArgs, "[\"--verbose\", \"app.dll\"]");
        if (items is null) return [];
        var args = new List<string>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            // An empty argument is legitimate (e.g. an empty password flag value), so it is allowed.
            var arg = reader.Text(items[i], SpecPath.Item("args", i), MaxText, "\"--verbose\"", allowEmpty: true);
            if (arg is not null) args.Add(arg);
        }
        return args;
    }

    private ServiceAccess ReadAccess(Dictionary<string, JsonElement> fields)
    {
        if (!fields.TryGetValue("access", out var value)) return ServiceAccess.Public;
        return reader.Choice(value, "access", ["public", "token"], "an access mode") switch
        {
            "token" => ServiceAccess.Token,
            _ => ServiceAccess.Public,
        };
    }

    private bool ReadBrowserDirect(Dictionary<string, JsonElement> fields)
    {
        if (!fields.TryGetValue("browserDirect", out var value)) return false;
        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False) return value.ValueKind == JsonValueKind.True;
        reader.Error("browserDirect", $"must be true or false, not {SpecText.Describe(value.ValueKind)}");
        return false;
    }

    private RestartPolicy ReadRestartPolicy(Dictionary<string, JsonElement> fields)
    {
        if (!fields.TryGetValue("restartPolicy", out var value)) return RestartPolicy.Always;
        return reader.Choice(value, "restartPolicy", ["always", "onFailure", "never"], "a restart policy") switch
        {
            "onFailure" => RestartPolicy.OnFailure,
            "never" => RestartPolicy.Never,
            _ => RestartPolicy.Always,
        };
    }
}
