using System.Text.Json;

namespace VirtualCluster;

internal sealed partial class ServiceSpecReader
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(1);

    private const string HealthPath = "healthCheck";

    private static readonly string[] HealthFields = ["type", "port", "path", "interval", "timeout"];

    private HealthCheckSpec? ReadHealthCheck(Dictionary<string, JsonElement> fields, List<PortSpec> ports)
    {
        if (!fields.TryGetValue(HealthPath, out var value)) return null;
        var check = reader.Fields(value, HealthPath, HealthFields, "{\"type\": \"http\", \"port\": \"http\", \"path\": \"/health\"}");
        if (check is null) return null;

        var type = check.TryGetValue("type", out var t)
            ? reader.Choice(t, $"{HealthPath}.type", ["http", "tcp"], "a health check type")
            : "http";
        var port = ReadHealthPort(check, ports);
        var path = ReadHealthPath(check, type);
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

        if (type is null || port is null || path is null || interval is null || timeout is null) return null;
        return new HealthCheckSpec(type == "tcp" ? HealthCheckType.Tcp : HealthCheckType.Http, port, path, interval.Value, timeout.Value);
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
        if (type == "tcp")
        {
            reader.Error(field, "is only used by \"type\": \"http\"; remove it for a tcp check");
            return null;
        }
        if (!path.StartsWith('/'))
        {
            reader.Error(field, $"{SpecText.Quote(path)} does not start with '/'; write it like \"/health\"");
            return null;
        }
        return path;
    }

    private TimeSpan? ReadDuration(JsonElement value, string path)
    {
        var text = reader.Text(value, path, int.MaxValue, "\"2s\"");
        if (text is null) return null;
        if (!SpecRules.TryParseMilliseconds(text, out var milliseconds))
        {
            reader.Error(path, $"{SpecText.Quote(text)} is not a duration; write a number with a unit (ms, s, m or h) like \"500ms\", \"2s\" or \"1m\"");
            return null;
        }
        var duration = TimeSpan.FromMilliseconds(Math.Min(milliseconds, (long)SpecRules.MaxDuration.TotalMilliseconds + 1));
        if (duration < SpecRules.MinDuration)
        {
            reader.Error(path, $"{SpecText.Quote(text)} is too short; use at least \"100ms\"");
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
