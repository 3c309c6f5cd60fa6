using System.Text.Json;

namespace VirtualCluster;

internal sealed partial class ServiceSpecReader
{
    public const int MaxPorts = 16;
    public const int MaxVolumes = 64;
    public const int MaxVolumeReplicas = 7;

    private static readonly string[] PortFields = ["name", "containerPort"];
    private static readonly string[] VolumeFields = ["name", "mountPath", "replicas", "sync"];

    private List<PortSpec> ReadPorts(Dictionary<string, JsonElement> fields)
    {
        var ports = new List<PortSpec>();
        if (!fields.TryGetValue("ports", out var value)) return ports;
        var items = reader.Array(value, "ports", MaxPorts, "[{\"name\": \"http\"}]");
        if (items is null) return ports;
        var firstUse = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            var path = SpecPath.Item("ports", i);
            var port = reader.Fields(items[i], path, PortFields, "{\"name\": \"http\"}");
            if (port is null) continue;
            var name = RequiredLabel(port, path, "\"http\"");
            // Only meaningful for docker; the process driver ignores it, so it is accepted for both.
            var containerPort = port.TryGetValue("containerPort", out var c) ? reader.Integer(c, $"{path}.containerPort", 1, 65535) : null;
            if (name is null) continue;
            if (!firstUse.TryAdd(name, i))
            {
                reader.Error($"{path}.name", $"{SpecText.Quote(name)} is already the name of ports[{firstUse[name]}]; give each port its own name");
                continue;
            }
            ports.Add(new PortSpec(name, (int?)containerPort));
        }
        return ports;
    }

    private List<VolumeSpec> ReadVolumes(Dictionary<string, JsonElement> fields)
    {
        var volumes = new List<VolumeSpec>();
        if (!fields.TryGetValue("volumes", out var value)) return volumes;
        var items = reader.Array(value, "volumes", MaxVolumes, "[{\"name\": \"data\", \"mountPath\": \"/data\"}]");
        if (items is null) return volumes;
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var mounts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            var path = SpecPath.Item("volumes", i);
            var volume = reader.Fields(items[i], path, VolumeFields, "{\"name\": \"data\", \"mountPath\": \"/data\"}");
            if (volume is null) continue;
            var name = RequiredLabel(volume, path, "\"data\"");
            var mountPath = ReadMountPath(volume, path);
            var replicas = volume.TryGetValue("replicas", out var r) ? reader.Integer(r, $"{path}.replicas", 0, MaxVolumeReplicas) : 0;
            var sync = volume.TryGetValue("sync", out var s) ? ReadDuration(s, $"{path}.sync") : null;
            if (name is not null && !names.TryAdd(name, i))
            {
                reader.Error($"{path}.name", $"{SpecText.Quote(name)} is already the name of volumes[{names[name]}]; give each volume its own name");
                continue;
            }
            if (mountPath is not null && !mounts.TryAdd(mountPath, i))
            {
                reader.Error($"{path}.mountPath", $"{SpecText.Quote(mountPath)} is already used by volumes[{mounts[mountPath]}]; mount each volume at its own path");
                continue;
            }
            if (name is not null && mountPath is not null) volumes.Add(new VolumeSpec(name, mountPath, (int)(replicas ?? 0), sync));
        }
        return volumes;
    }

    private string? RequiredLabel(Dictionary<string, JsonElement> item, string path, string example)
    {
        if (item.TryGetValue("name", out var value)) return DnsLabel(value, $"{path}.name", example);
        reader.Error($"{path}.name", $"is required; name it like {example}");
        return null;
    }

    private string? ReadMountPath(Dictionary<string, JsonElement> volume, string path)
    {
        var field = $"{path}.mountPath";
        if (!volume.TryGetValue("mountPath", out var value))
        {
            reader.Error(field, "is required; give the absolute path where the volume appears, e.g. \"/data\"");
            return null;
        }
        var mountPath = reader.Text(value, field, MaxText, "\"/data\"");
        if (mountPath is null) return null;
        if (!SpecRules.IsAbsolutePath(mountPath))
        {
            reader.Error(field, $"{SpecText.Quote(mountPath)} is not an absolute path; start it with '/', e.g. \"/data\"");
            return null;
        }
        return mountPath;
    }
}
