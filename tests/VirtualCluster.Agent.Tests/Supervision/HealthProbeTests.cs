using System.Net;
using System.Net.Sockets;
using VirtualCluster.Agent.Supervision;

namespace VirtualCluster.Agent.Tests.Supervision;

public sealed class HealthProbeTests
{
    private static readonly IReadOnlyDictionary<string, string> NoEnv = new Dictionary<string, string>();

    private static ServiceSpec Spec(string command, params string[] args) => new()
    {
        Name = "svc",
        Driver = "process",
        Command = "x",
        HealthCheck = new HealthCheckSpec(HealthCheckType.Command, "", "/", TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(500)) { Command = command, Args = args },
    };

    private static Task<(bool Healthy, string Reason)> CheckAsync(ServiceSpec spec) =>
        new HealthProbe(new HttpClient()).CheckAsync(spec, new Dictionary<string, int>(), NoEnv, default);

    [Fact]
    public async Task Exit_code_zero_is_healthy_and_others_say_what_the_command_printed()
    {
        Assert.True((await CheckAsync(Spec("/bin/true"))).Healthy);
        var (healthy, reason) = await CheckAsync(Spec("/bin/sh", "-c", "echo 'database unreachable' >&2; exit 3"));
        Assert.False(healthy);
        Assert.Equal("health check command \"/bin/sh\" exited with code 3: database unreachable", reason);
    }

    [Fact]
    public async Task A_command_that_hangs_is_killed_at_the_timeout()
    {
        var started = DateTime.UtcNow;
        var (healthy, reason) = await CheckAsync(Spec("/bin/sleep", "30"));
        Assert.False(healthy);
        Assert.Contains("did not finish within 0.5 s", reason);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_missing_command_is_unhealthy_with_a_reason()
    {
        var (healthy, reason) = await CheckAsync(Spec("/nonexistent/check"));
        Assert.False(healthy);
        Assert.Contains("could not start", reason);
    }

    /// <summary>A listener that treats each accepted connection as told, until disposed.</summary>
    private sealed class Listener : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly List<TcpClient> _held = [];

        public Listener(Func<TcpClient, Task> onAccept)
        {
            _listener.Start();
            _ = Task.Run(async () =>
            {
                try
                {
                    while (true)
                    {
                        var client = await _listener.AcceptTcpClientAsync();
                        lock (_held) _held.Add(client);
                        await onAccept(client);
                    }
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            });
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public void Dispose()
        {
            _listener.Stop();
            lock (_held) foreach (var c in _held) c.Dispose();
        }
    }

    // A 10 s budget instead of the default 1 s: these tests are about what the check concludes, and a test
    // runner busy with other classes once stalled a quiet-server check past 1 s (CI, "timed out").
    private static Task<(bool Healthy, string Reason)> TcpCheckAsync(int port) =>
        new HealthProbe(new HttpClient()).CheckAsync(new ServiceSpec
            {
                Name = "svc", Driver = "process", Command = "x", Ports = [new PortSpec("http")],
                HealthCheck = new HealthCheckSpec(HealthCheckType.Tcp, "http", "/", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)),
            },
            new Dictionary<string, int> { ["http"] = port }, NoEnv, default);

    [Fact]
    public async Task A_tcp_check_fails_on_a_port_that_accepts_and_closes_at_once_as_a_port_proxy_does()
    {
        using var proxy = new Listener(client => { client.Client.Close(); return Task.CompletedTask; });
        var (healthy, reason) = await TcpCheckAsync(proxy.Port);
        Assert.False(healthy);
        Assert.Contains("closed it at once", reason);
    }

    [Fact]
    public async Task A_tcp_check_passes_on_a_server_that_waits_for_its_client_or_sends_a_banner_first()
    {
        using (var quiet = new Listener(_ => Task.CompletedTask))
            Assert.Equal((true, ""), await TcpCheckAsync(quiet.Port));
        using (var banner = new Listener(async client =>
               {
                   await client.GetStream().WriteAsync("220 ready\r\n"u8.ToArray());
                   client.Client.Close();
               }))
            Assert.Equal((true, ""), await TcpCheckAsync(banner.Port));

        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        Assert.False((await TcpCheckAsync(port)).Healthy);
    }
}
