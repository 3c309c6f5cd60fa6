using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace VirtualCluster;

/// <summary>Writes a <see cref="ServiceSpec"/> in the spec-file schema (the inverse of <see cref="ServiceSpecReader"/>).</summary>
internal static class ServiceSpecWriter
{
    private static readonly JsonWriterOptions Options = new()
    {
        Indented = true,
        // Spec files are read by people; "<" and non-ASCII text should appear as written.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Write(ServiceSpec spec)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, Options))
        {
            writer.WriteStartObject();
            writer.WriteString("name", spec.Name);
            writer.WriteString("driver", spec.Driver);
            if (spec.Command is not null) writer.WriteString("command", spec.Command);
            if (spec.Image is not null) writer.WriteString("image", spec.Image);
            if (spec.Args.Count > 0) WriteStrings(writer, "args", spec.Args);
            if (spec.WorkingDirectory is not null) writer.WriteString("workingDirectory", spec.WorkingDirectory);
            writer.WriteNumber("replicas", spec.Replicas);
            WriteResources(writer, spec.Resources);
            if (spec.Ports.Count > 0) WritePorts(writer, spec.Ports);
            if (spec.Env.Count > 0) WriteMap(writer, "env", spec.Env);
            if (spec.Secrets.Count > 0) WriteMap(writer, "secrets", spec.Secrets);
            if (spec.Volumes.Count > 0) WriteVolumes(writer, spec.Volumes);
            if (spec.HealthCheck is not null) WriteHealthCheck(writer, spec.HealthCheck);
            writer.WriteString("restartPolicy", spec.RestartPolicy switch
            {
                RestartPolicy.OnFailure => "onFailure",
                RestartPolicy.Never => "never",
                _ => "always",
            });
            PlacementWriter.Write(writer, spec.Placement);
            WriteFailover(writer, spec.Failover);
            // Written only when not the default, so specs written before the field existed read back unchanged.
            if (spec.Access == ServiceAccess.Token) writer.WriteString("access", "token");
            if (spec.Domains.Count > 0) WriteStrings(writer, "domains", spec.Domains);
            if (spec.BrowserDirect) writer.WriteBoolean("browserDirect", true);
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteStrings(Utf8JsonWriter writer, string name, IReadOnlyList<string> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values) writer.WriteStringValue(value);
        writer.WriteEndArray();
    }

    private static void WriteResources(Utf8JsonWriter writer, Resources resources)
    {
        writer.WriteStartObject("resources");
        writer.WriteString("cpu", string.Create(CultureInfo.InvariantCulture, $"{resources.CpuMillicores}m"));
        writer.WriteString("memory", FormatBytes(resources.MemoryBytes));
        writer.WriteString("disk", FormatBytes(resources.DiskBytes));
        if (resources.Gpus != 0) writer.WriteNumber("gpus", resources.Gpus);
        writer.WriteEndObject();
    }

    /// <summary>Exact, readable byte quantities: the largest binary suffix that divides the value, else plain bytes.</summary>
    private static string FormatBytes(long bytes)
    {
        (string Suffix, int Shift)[] units = [("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)];
        foreach (var (suffix, shift) in units)
        {
            if (bytes != 0 && bytes % (1L << shift) == 0)
                return string.Create(CultureInfo.InvariantCulture, $"{bytes >> shift}{suffix}");
        }
        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    private static void WritePorts(Utf8JsonWriter writer, IReadOnlyList<PortSpec> ports)
    {
        writer.WriteStartArray("ports");
        foreach (var port in ports)
        {
            writer.WriteStartObject();
            writer.WriteString("name", port.Name);
            if (port.ContainerPort is { } containerPort) writer.WriteNumber("containerPort", containerPort);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    private static void WriteVolumes(Utf8JsonWriter writer, IReadOnlyList<VolumeSpec> volumes)
    {
        writer.WriteStartArray("volumes");
        foreach (var volume in volumes)
        {
            writer.WriteStartObject();
            writer.WriteString("name", volume.Name);
            writer.WriteString("mountPath", volume.MountPath);
            if (volume.Replicas > 0) writer.WriteNumber("replicas", volume.Replicas);
            if (volume.Sync is { } sync) writer.WriteString("sync", SpecRules.FormatDuration(sync));
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    private static void WriteHealthCheck(Utf8JsonWriter writer, HealthCheckSpec check)
    {
        writer.WriteStartObject("healthCheck");
        writer.WriteString("type", check.Type switch { HealthCheckType.Tcp => "tcp", HealthCheckType.Command => "command", _ => "http" });
        if (check.Type == HealthCheckType.Command)
        {
            writer.WriteString("command", check.Command);
            if (check.Args.Count > 0) WriteStrings(writer, "args", check.Args);
        }
        else
        {
            writer.WriteString("port", check.Port);
        }
        if (check.Type == HealthCheckType.Http) writer.WriteString("path", check.Path);
        writer.WriteString("interval", SpecRules.FormatDuration(check.Interval));
        writer.WriteString("timeout", SpecRules.FormatDuration(check.Timeout));
        if (check.FailureThreshold != HealthCheckSpec.DefaultFailureThreshold) writer.WriteNumber("failureThreshold", check.FailureThreshold);
        if (check.GracePeriod != HealthCheckSpec.DefaultGracePeriod) writer.WriteString("gracePeriod", FormatDurationOrZero(check.GracePeriod));
        writer.WriteEndObject();
    }

    private static void WriteFailover(Utf8JsonWriter writer, FailoverPolicy policy)
    {
        if (policy == FailoverPolicy.Default) return;
        if (!policy.Enabled)
        {
            writer.WriteString("failover", "never");
            return;
        }
        writer.WriteStartObject("failover");
        writer.WriteString("delay", FormatDurationOrZero(policy.Delay));
        writer.WriteNumber("maxAttempts", policy.MaxAttempts);
        writer.WriteEndObject();
    }

    private static string FormatDurationOrZero(TimeSpan duration) => duration == TimeSpan.Zero ? "0s" : SpecRules.FormatDuration(duration);

    internal static void WriteMap(Utf8JsonWriter writer, string name, IReadOnlyDictionary<string, string> map)
    {
        writer.WriteStartObject(name);
        foreach (var (key, value) in map.OrderBy(e => e.Key, StringComparer.Ordinal)) writer.WriteString(key, value);
        writer.WriteEndObject();
    }
}
