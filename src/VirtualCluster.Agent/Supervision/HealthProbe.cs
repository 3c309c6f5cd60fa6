using System.Diagnostics;
using System.Net.Sockets;

namespace VirtualCluster.Agent.Supervision;

/// <summary>
/// Checks an instance's health on the local machine: the spec's HTTP, TCP or command check, or, without one,
/// a TCP connect to the first port (so "running" means "accepts connections" for anything with a port).
/// </summary>
internal sealed class HealthProbe(HttpClient http)
{
    /// <param name="spec">The instance's spec.</param>
    /// <param name="ports">Its assigned host ports.</param>
    /// <param name="environment">Cluster variables of the instance (VC_INSTANCE_ID ...), given to a command check with the spec's env and the ports.</param>
    /// <param name="ct">Cancellation.</param>
    public async Task<(bool Healthy, string Reason)> CheckAsync(ServiceSpec spec, IReadOnlyDictionary<string, int> ports,
        IReadOnlyDictionary<string, string> environment, CancellationToken ct)
    {
        var check = spec.HealthCheck;
        if (check is { Type: HealthCheckType.Command }) return await RunCommandAsync(spec, check, ports, environment, ct);
        var portName = check?.Port ?? spec.Ports.FirstOrDefault()?.Name;
        if (portName is null) return (true, "");
        if (!ports.TryGetValue(portName, out var port)) return (false, $"health check port \"{portName}\" has no assigned host port");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(check?.Timeout ?? TimeSpan.FromSeconds(1));
        try
        {
            if (check is { Type: HealthCheckType.Http })
            {
                using var response = await http.GetAsync($"http://127.0.0.1:{port}{check.Path}", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                var code = (int)response.StatusCode;
                return code is >= 200 and < 400 ? (true, "") : (false, $"health check GET {check.Path} answered {code}");
            }
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port, timeout.Token);
            return await StaysOpenAsync(client, timeout.Token)
                ? (true, "")
                : (false, $"port {port} accepted the connection and closed it at once (nothing listens behind it yet, e.g. behind Docker's port proxy)");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (false, $"health check on port {port} timed out");
        }
        catch (Exception e) when (e is HttpRequestException or SocketException)
        {
            return (false, $"health check on port {port} failed: {e.Message}");
        }
    }

    /// <summary>
    /// A port proxy (Docker's userland proxy, a load balancer) accepts connections whether or not anything listens
    /// behind it, then closes them. So a TCP check also waits briefly: a connection the peer ends at once is not
    /// healthy; one that stays open, or sends something first (a banner), is.
    /// </summary>
    private static async Task<bool> StaysOpenAsync(TcpClient client, CancellationToken ct)
    {
        using var window = CancellationTokenSource.CreateLinkedTokenSource(ct);
        window.CancelAfter(TcpSettleTime);
        try
        {
            var read = await client.GetStream().ReadAsync(new byte[1], window.Token);
            return read > 0;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return true; // still open and quiet: a server waiting for its client to speak
        }
        catch (IOException)
        {
            return false; // reset
        }
    }

    /// <summary>How long a TCP check watches a new connection for being closed by the other side.</summary>
    internal static readonly TimeSpan TcpSettleTime = TimeSpan.FromMilliseconds(100);

    /// <summary>Runs the check's command with the instance's environment; exit code 0 within the timeout is healthy.</summary>
    private static async Task<(bool Healthy, string Reason)> RunCommandAsync(ServiceSpec spec, HealthCheckSpec check,
        IReadOnlyDictionary<string, int> ports, IReadOnlyDictionary<string, string> environment, CancellationToken ct)
    {
        var info = new ProcessStartInfo(check.Command!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (spec.WorkingDirectory is { } dir) info.WorkingDirectory = Path.GetFullPath(dir);
        foreach (var arg in check.Args) info.ArgumentList.Add(arg);
        foreach (var (key, value) in spec.Env) info.Environment[key] = value;
        foreach (var (key, value) in spec.Secrets) info.Environment[key] = value;
        foreach (var (key, value) in environment) info.Environment[key] = value;
        var first = spec.Ports.FirstOrDefault(p => ports.ContainsKey(p.Name));
        if (first is not null) info.Environment["PORT"] = ports[first.Name].ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (name, port) in ports)
            info.Environment["VC_PORT_" + new string(name.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToUpperInvariant(c) : '_').ToArray())] =
                port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return (false, $"health check command \"{check.Command}\" could not start: {e.Message}");
        }
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var errors = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(check.Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            if (ct.IsCancellationRequested) throw;
            return (false, $"health check command \"{check.Command}\" did not finish within {check.Timeout.TotalSeconds:0.#} s");
        }
        if (process.ExitCode == 0) return (true, "");
        var said = await ErrorTextAsync(errors, output);
        return (false, $"health check command \"{check.Command}\" exited with code {process.ExitCode}{(said.Length > 0 ? ": " + said : "")}");
    }

    /// <summary>The first line the command printed (stderr first), cut short, for the instance's reason.</summary>
    private static async Task<string> ErrorTextAsync(Task<string> errors, Task<string> output)
    {
        try
        {
            var text = (await errors).Trim();
            if (text.Length == 0) text = (await output).Trim();
            var line = text.Split('\n', 2)[0].Trim();
            return line.Length > 200 ? line[..200] + "..." : line;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            return "";
        }
    }
}
