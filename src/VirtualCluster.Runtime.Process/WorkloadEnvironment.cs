using System.Text;

namespace VirtualCluster.Runtime.Process;

/// <summary>Builds the variables the driver adds to a workload's environment.</summary>
internal static class WorkloadEnvironment
{
    /// <summary>"http-admin" → "HTTP_ADMIN": upper case, anything not a letter, digit or '_' becomes '_'.</summary>
    internal static string VariableSuffix(string name)
    {
        var result = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            result.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? char.ToUpperInvariant(c) : '_');
        }
        return result.ToString();
    }

    /// <summary>
    /// Variables on top of the agent's own environment, later entries winning: the spec's env, the request's env,
    /// then PORT / VC_PORT_* / VC_VOLUME_*. The driver's values win because the agent probes exactly the ports it
    /// assigned; a spec that set PORT itself would otherwise listen where nobody looks.
    /// </summary>
    internal static Dictionary<string, string> Build(WorkloadStartRequest request, IReadOnlyDictionary<string, string> volumePaths)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in request.Spec.Env) env[key] = value;
        foreach (var (key, value) in request.Spec.Secrets) env[key] = value;
        foreach (var (key, value) in request.Environment) env[key] = value;

        var first = request.Spec.Ports.FirstOrDefault(port => request.Ports.ContainsKey(port.Name));
        if (first is not null) env["PORT"] = Invariant(request.Ports[first.Name]);
        foreach (var (name, port) in request.Ports) env["VC_PORT_" + VariableSuffix(name)] = Invariant(port);
        foreach (var (name, path) in volumePaths) env["VC_VOLUME_" + VariableSuffix(name)] = path;
        return env;
    }

    /// <summary>True for a volume name that is safe as one directory name.</summary>
    internal static bool IsSafeVolumeName(string name) =>
        name.Length > 0 && name is not ("." or "..") && name.IndexOfAny(['/', '\\', '\0']) < 0;

    private static string Invariant(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
