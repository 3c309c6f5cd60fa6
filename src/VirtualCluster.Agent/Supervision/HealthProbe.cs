using System.Net.Sockets;

namespace VirtualCluster.Agent.Supervision;

/// <summary>
/// Checks an instance's health on the local machine: the spec's HTTP or TCP check, or, without one,
/// a TCP connect to the first port (so "running" means "accepts connections" for anything with a port).
/// </summary>
internal sealed class HealthProbe(HttpClient http)
{
    public async Task<(bool Healthy, string Reason)> CheckAsync(ServiceSpec spec, IReadOnlyDictionary<string, int> ports, CancellationToken ct)
    {
        var check = spec.HealthCheck;
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
            return (true, "");
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
}
