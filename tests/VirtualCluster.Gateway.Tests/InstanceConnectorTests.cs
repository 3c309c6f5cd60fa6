using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Routing;
using Xunit;

namespace VirtualCluster.Gateway.Tests;

/// <summary>
/// The proxy's connection pools: kept-alive connections are reused while a node's path stays the same, and a new path
/// (a peer link coming up after requests went through the tunnel) gets new connections at once; the old pool's idle
/// connections are closed a little later. Real sockets to a small HTTP/1.1 server on loopback.
/// </summary>
public sealed class InstanceConnectorTests
{
    [Fact]
    public async Task A_new_path_gets_new_connections_at_once_and_the_old_pool_is_closed_later()
    {
        await using var server = new KeepAliveServer();
        var paths = new FakePaths { Current = "tunnel" };
        var dialer = new RecordingDialer(server.Port, paths);
        var time = new FakeTimeProvider();
        using var connector = new InstanceConnector(dialer, paths, Options.Create(new GatewayOptions()), time);

        Assert.Equal("ok", await GetAsync(connector.For("node-a"), server.Port));
        Assert.Equal("ok", await GetAsync(connector.For("node-a"), server.Port));
        Assert.Equal(new[] { "tunnel" }, dialer.Dials); // positive control: the second request reused the kept-alive connection

        paths.Current = "link-1";
        Assert.Equal("ok", await GetAsync(connector.For("node-a"), server.Port));
        Assert.Equal("ok", await GetAsync(connector.For("node-a"), server.Port));
        Assert.Equal(new[] { "tunnel", "link-1" }, dialer.Dials);
        Assert.Equal(0, server.Closed);

        // The replaced pool is disposed after twice the connect timeout: its idle connection through the tunnel closes.
        time.Advance(new GatewayOptions().ConnectTimeout * 2);
        await Wait(() => server.Closed == 1, "the old path's idle connection to close");

        // A fresh link (another object) is another path again.
        paths.Current = "link-2";
        Assert.Equal("ok", await GetAsync(connector.For("node-a"), server.Port));
        Assert.Equal(new[] { "tunnel", "link-1", "link-2" }, dialer.Dials);
    }

    private static async Task<string> GetAsync(HttpMessageInvoker client, int port)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/");
        using var response = await client.SendAsync(request, CancellationToken.None);
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task Wait(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    private sealed class FakePaths : INodePaths
    {
        public volatile string Current = "";

        public object PathIdentity(string nodeId) => string.Intern(Current);

        public bool EverConnected(string nodeId) => true;
    }

    /// <summary>Connects every dial to the server and records the path it was made for.</summary>
    private sealed class RecordingDialer(int port, FakePaths paths) : IStreamDialer
    {
        private readonly List<string> _dials = [];

        public List<string> Dials { get { lock (_dials) return [.. _dials]; } }

        public bool CanReach(string nodeId) => true;

        public async ValueTask<Stream> DialAsync(string nodeId, int _, CancellationToken cancellationToken = default)
        {
            lock (_dials) _dials.Add(paths.Current);
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
    }

    /// <summary>Answers every request on a connection with "ok", keeping it alive; counts connections the client closed.</summary>
    private sealed class KeepAliveServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _accepting;
        private int _closed;

        public KeepAliveServer()
        {
            _listener.Start();
            _accepting = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Closed => Volatile.Read(ref _closed);

        private async Task AcceptAsync()
        {
            var connections = new List<Task>();
            try
            {
                while (true) connections.Add(ServeAsync(await _listener.AcceptSocketAsync(_stop.Token)));
            }
            catch (OperationCanceledException)
            {
            }
            await Task.WhenAll(connections);
        }

        private async Task ServeAsync(Socket socket)
        {
            using var _ = socket;
            var buffer = new byte[4096];
            var pending = "";
            try
            {
                while (true)
                {
                    var n = await socket.ReceiveAsync(buffer, _stop.Token);
                    if (n == 0) break;
                    pending += Encoding.ASCII.GetString(buffer, 0, n);
                    while (pending.IndexOf("\r\n\r\n", StringComparison.Ordinal) is var end and >= 0)
                    {
                        pending = pending[(end + 4)..];
                        await socket.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray(), _stop.Token);
                    }
                }
                Interlocked.Increment(ref _closed);
            }
            catch (SocketException)
            {
                Interlocked.Increment(ref _closed); // closed with a reset: closed all the same
            }
            catch (OperationCanceledException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting;
            _stop.Dispose();
        }
    }
}
