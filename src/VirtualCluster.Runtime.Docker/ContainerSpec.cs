using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Docker.DotNet.Models;
using DockerRestartPolicy = Docker.DotNet.Models.RestartPolicy;

namespace VirtualCluster.Runtime.Docker;

/// <summary>Builds the Docker create request for one instance. Pure: no I/O.</summary>
internal static class ContainerSpec
{
    /// <summary>"vc-hello-1a2b3c4d-5e6f7a8b": the instance id plus a hash of cluster and node, unique on a shared daemon.</summary>
    public static string Name(DockerDriverOptions options, string instanceId)
    {
        var owner = SHA256.HashData(Encoding.UTF8.GetBytes(options.Cluster + "\n" + options.Node));
        return $"vc-{instanceId}-{Convert.ToHexStringLower(owner)[..8]}";
    }

    /// <summary>Labels every container of this driver has: its owner (cluster and node).</summary>
    public static Dictionary<string, string> OwnerLabels(DockerDriverOptions options) => new(StringComparer.Ordinal)
    {
        [ContainerLabels.Cluster] = options.Cluster,
        [ContainerLabels.Node] = options.Node,
    };

    /// <summary>Container port for a named port: the spec's containerPort, else the host port itself.</summary>
    public static int ContainerPort(PortSpec port, int hostPort) => port.ContainerPort ?? hostPort;

    /// <summary>
    /// Variables for the container, later entries winning: the spec's env, the request's (VC_INSTANCE_ID, ...), then
    /// PORT (first port, as seen inside the container), VC_PORT_&lt;NAME&gt; (container port), VC_HOST_PORT_&lt;NAME&gt;
    /// (published host port) and VC_VOLUME_&lt;NAME&gt; (mount path inside the container).
    /// </summary>
    public static Dictionary<string, string> Environment(WorkloadStartRequest request)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in request.Spec.Env) env[key] = value;
        foreach (var (key, value) in request.Spec.Secrets) env[key] = value;
        foreach (var (key, value) in request.Environment) env[key] = value;
        var first = true;
        foreach (var port in request.Spec.Ports)
        {
            if (!request.Ports.TryGetValue(port.Name, out var hostPort)) continue;
            var inside = ContainerPort(port, hostPort);
            if (first) env["PORT"] = Invariant(inside);
            first = false;
            env["VC_PORT_" + Suffix(port.Name)] = Invariant(inside);
            env["VC_HOST_PORT_" + Suffix(port.Name)] = Invariant(hostPort);
        }
        foreach (var volume in request.Spec.Volumes) env["VC_VOLUME_" + Suffix(volume.Name)] = volume.MountPath;
        return env;
    }

    /// <summary>The create request. <paramref name="volumePaths"/> maps volume names to host directories.</summary>
    public static CreateContainerParameters Build(
        DockerDriverOptions options, WorkloadStartRequest request, IReadOnlyDictionary<string, string> volumePaths, long logBase)
    {
        var spec = request.Spec;
        var exposed = new Dictionary<string, EmptyStruct>(StringComparer.Ordinal);
        var bindings = new Dictionary<string, IList<PortBinding>>(StringComparer.Ordinal);
        foreach (var port in spec.Ports)
        {
            if (!request.Ports.TryGetValue(port.Name, out var hostPort)) continue;
            var key = $"{ContainerPort(port, hostPort)}/tcp";
            exposed[key] = default;
            if (!bindings.TryGetValue(key, out var list)) bindings[key] = list = [];
            list.Add(new PortBinding { HostIP = options.PublishAddress, HostPort = Invariant(hostPort) });
        }

        var labels = OwnerLabels(options);
        labels[ContainerLabels.Service] = spec.Name;
        labels[ContainerLabels.Instance] = request.InstanceId;
        labels[ContainerLabels.Epoch] = Invariant(request.Epoch);
        labels[ContainerLabels.LogBase] = Invariant(logBase);

        var memory = spec.Resources.MemoryBytes > 0 ? spec.Resources.MemoryBytes : 0;
        return new CreateContainerParameters
        {
            Name = Name(options, request.InstanceId),
            Hostname = request.InstanceId.Length <= 63 ? request.InstanceId : null,
            Image = spec.Image,
            // A command replaces the image's entrypoint (args become its arguments); args alone replace the image's CMD.
            Entrypoint = string.IsNullOrEmpty(spec.Command) ? null : [spec.Command],
            Cmd = string.IsNullOrEmpty(spec.Command) && spec.Args.Count == 0 ? null : [.. spec.Args],
            WorkingDir = string.IsNullOrEmpty(spec.WorkingDirectory) ? null : spec.WorkingDirectory,
            Env = [.. Environment(request).Select(e => $"{e.Key}={e.Value}")],
            Labels = labels,
            ExposedPorts = exposed,
            AttachStdout = true,
            AttachStderr = true,
            HostConfig = new HostConfig
            {
                PortBindings = bindings,
                Init = options.Init,
                // The agent's supervisor owns restarts (backoff, limits, health): Docker must not restart on its own.
                RestartPolicy = new DockerRestartPolicy { Name = RestartPolicyKind.No },
                NanoCPUs = spec.Resources.CpuMillicores > 0 ? spec.Resources.CpuMillicores * 1_000_000 : 0,
                Memory = memory,
                // Same as Memory: no swap on top of the limit, so the limit is what the scheduler reserved.
                MemorySwap = memory,
                Mounts = [.. spec.Volumes.Select(v => new Mount { Type = "bind", Source = volumePaths[v.Name], Target = v.MountPath })],
                LogConfig = new LogConfig
                {
                    Type = "json-file",
                    Config = new Dictionary<string, string> { ["max-size"] = Invariant(options.MaxLogFileBytes), ["max-file"] = "3" },
                },
            },
        };
    }

    /// <summary>"http-admin" → "HTTP_ADMIN".</summary>
    public static string Suffix(string name)
    {
        var result = new StringBuilder(name.Length);
        foreach (var c in name) result.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? char.ToUpperInvariant(c) : '_');
        return result.ToString();
    }

    /// <summary>True for a volume name that is safe as one directory name.</summary>
    public static bool IsSafeVolumeName(string name) =>
        name.Length > 0 && name is not ("." or "..") && name.IndexOfAny(['/', '\\', '\0']) < 0;

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
