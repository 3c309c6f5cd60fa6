using System.Net;
using System.Net.Sockets;

namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>
/// HTTP to a gateway by stable URL (http://&lt;service&gt;.localhost:&lt;port&gt;/) the way curl and browsers do it:
/// every *.localhost name goes to 127.0.0.1. .NET does not resolve *.localhost itself, so the connect is pinned.
/// </summary>
internal sealed class GatewayClient : IDisposable
{
    public GatewayClient(int gatewayPort, TimeSpan? timeout = null)
    {
        Port = gatewayPort;
        Handler = new SocketsHttpHandler
        {
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromSeconds(30),
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, gatewayPort), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        Http = new HttpClient(Handler, disposeHandler: false) { Timeout = timeout ?? TimeSpan.FromSeconds(10) };
    }

    public int Port { get; }
    public SocketsHttpHandler Handler { get; }
    public HttpClient Http { get; }

    public string Url(string service, string path = "/") => $"http://{service}.localhost:{Port}{path}";

    /// <summary>Status and body, or (0, error) when no HTTP answer came.</summary>
    public async Task<(int Status, string Body)> GetAsync(string service, string path = "/")
    {
        try
        {
            using var response = await Http.GetAsync(Url(service, path));
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return (0, e.Message);
        }
    }

    public void Dispose()
    {
        Http.Dispose();
        Handler.Dispose();
    }
}
