using System.Text.Json;

namespace VirtualCluster;

internal sealed partial class ServiceSpecReader
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(1);

    private const string HealthPath = "healthCheck";

    private static readonly string[] HealthFields =
        ["type", "port", "path", "interval", "timeout", "failureThreshold", "gracePeriod", "command", "args"];

    private const int MaxFailureThreshold = 100;

    private HealthCheckSpec? ReadHealthCheck(Dictionary<string, JsonElement> fields, List<PortSpec> ports)
    {
        if (!fields.TryGetValue(HealthPath, out var value)) return null;
        var check = reader.Fields(value, HealthPath, HealthFields, "{\"type\": \"http\", \"port\": \"http\", \"path\": \"/health\"}");
        if (check is null) return null;

        var type = check.TryGetValue("type", out var t)
            ? reader.Choice(t, $"{HealthPath}.type", ["http", "tcp", "command"], "a health check type")
            : "http";
        var port = type == "command" ? NoPortForCommand(check) : ReadHealthPort(check, ports);
        var path = ReadHealthPath(check, type);
        var (command, args) = ReadHealthCommand(check, type);
        var interval = check.TryGetValue("interval", out var i) ? ReadDuration(i, $"{HealthPath}.interval") : DefaultInterval;
        TimeSpan? timeout;
        if (check.TryGetValue("timeout", out var o))
        {
            timeout = ReadDuration(o, $"{HealthPath}.timeout");
            if (timeout > interval)
            {
                reader.Error($"{HealthPath}.timeout",
                    $"\"{SpecRules.FormatDuration(timeout.Value)}\" is longer than the interval \"{SpecRules.FormatDuration(interval!.Value)}\"; make it at most the interval");
            }
        }
        else
        {
            // A short interval with the default timeout would be an error the user never wrote; shrink the default instead.
            timeout = interval < DefaultTimeout ? interval : DefaultTimeout;
        }
        var threshold = check.TryGetValue("failureThreshold", out var f)
            ? reader.Integer(f, $"{HealthPath}.failureThreshold", 1, MaxFailureThreshold)
            : HealthCheckSpec.DefaultFailureThreshold;
        var grace = check.TryGetValue("gracePeriod", out var g)
            ? ReadDuration(g, $"{HealthPath}.gracePeriod", allowZero: true)
            : HealthCheckSpec.DefaultGracePeriod;

        if (type is null || port is null || path is null || interval is null || timeout is null || threshold is null || grace is null) return null;
        if (type == "command" && command is null) return null;
        return new HealthCheckSpec(
            type switch { "tcp" => HealthCheckType.Tcp, "command" => HealthCheckType.Command, _ => HealthCheckType.Http },
            port, path, interval.Value, timeout.Value)
        {
            FailureThreshold = (int)threshold.Value,
            GracePeriod = grace.Value,
            Command = command,
            Args = args,
        };
    }

    /// <summary>A command check probes no port: it reads the instance's ports from its environment instead.</summary>
    private string? NoPortForCommand(Dictionary<string, JsonElement> check)
    {
        if (!check.ContainsKey("port")) return "";
        reader.Error($"{HealthPath}.port", "is only used by \"type\": \"http\" or \"tcp\"; a command check gets the ports in PORT and VC_PORT_<NAME>");
        return null;
    }

    private (string? Command, IReadOnlyList<string> Args) ReadHealthCommand(Dictionary<string, JsonElement> check, string? type)
    {
        if (type != "command")
        {
            foreach (var field in new[] { "command", "args" })
            {
                if (check.ContainsKey(field))
                    reader.Error($"{HealthPath}.{field}", "is only used by \"type\": \"command\"; remove it, or set \"type\": \"command\"");
            }
            return (null, []);
        }
        string? command = null;
        if (check.TryGetValue("command", out var c))
            command = reader.Text(c, $"{HealthPath}.command", MaxText, "\"/usr/bin/curl\"");
        else
            reader.Error($"{HealthPath}.command", "is required for a command check; name the program to run, e.g. \"/usr/bin/test\"");
        if (!check.TryGetValue("args", out var a)) return (command, []);
        var items = reader.Array(a, $"{HealthPath}.args", MaxArgs, "[\"-f\", \"/tmp/ready\"]");
        if (items is null) return (command, []);
        var args = new List<string>(items.Count);
        for (var index = 0; index < items.Count; index++)
        {
            var arg = reader.Text(items[index], SpecPath.Item($"{HealthPath}.args", index), MaxText, "\"-f\"", allowEmpty: true);
            if (arg is not null) args.Add(arg);
        }
        return (command, args);
    }

    private string? ReadHealthPort(Dictionary<string, JsonElement> check, List<PortSpec> ports)
    {
        var field = $"{HealthPath}.port";
        var declared = ports.Select(p => p.Name).ToList();
        var example = declared.Count > 0 ? SpecText.Quote(declared[0]) : "\"http\"";
        if (!check.TryGetValue("port", out var value))
        {
            reader.Error(field, $"is required; name the declared port to probe, e.g. {example}");
            return null;
        }
        var port = reader.Text(value, field, int.MaxValue, example);
        if (port is null || declared.Contains(port)) return port;
        reader.Error(field, declared.Count == 0
            ? $"{SpecText.Quote(port)} is not a declared port; declare it under \"ports\", e.g. [{{\"name\": {SpecText.Quote(port)}}}]"
            : $"{SpecText.Quote(port)} is not a declared port; use one of: {string.Join(", ", declared)}");
        return null;
    }

    private string? ReadHealthPath(Dictionary<string, JsonElement> check, string? type)
    {
        var field = $"{HealthPath}.path";
        if (!check.TryGetValue("path", out var value)) return "/";
        var path = reader.Text(value, field, MaxText, "\"/health\"");
        if (path is null) return null;
        if (type is "tcp" or "command")
        {
            reader.Error(field, $"is only used by \"type\": \"http\"; remove it for a {type} check");
            return null;
        }
        if (!path.StartsWith('/'))
        {
            reader.Error(field, $"{SpecText.Quote(path)} does not start with '/'; write it like \"/health\"");
            return null;
        }
        return path;
    }

    private TimeSpan? ReadDuration(JsonElement value, string path, bool allowZero = false)
    {
        var text = reader.Text(value, path, int.MaxValue, "\"2s\"");
        if (text is null) return null;
        if (!SpecRules.TryParseMilliseconds(text, out var milliseconds))
        {
            reader.Error(path, $"{SpecText.Quote(text)} is not a duration; write a number with a unit (ms, s, m or h) like \"500ms\", \"2s\" or \"1m\"");
            return null;
        }
        var duration = TimeSpan.FromMilliseconds(Math.Min(milliseconds, (long)SpecRules.MaxDuration.TotalMilliseconds + 1));
        if (allowZero && duration == TimeSpan.Zero) return duration;
        if (duration < SpecRules.MinDuration)
        {
            reader.Error(path, $"{SpecText.Quote(text)} is too short; use at least \"100ms\"{(allowZero ? " (or \"0s\")" : "")}");
            return null;
        }
        if (duration > SpecRules.MaxDuration)
        {
            reader.Error(path, $"{SpecText.Quote(text)} is too long; use at most \"1h\"");
            return null;
        }
        return duration;
    }
}
