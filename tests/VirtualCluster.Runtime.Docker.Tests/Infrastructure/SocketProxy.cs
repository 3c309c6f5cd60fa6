using System.Net.Sockets;

namespace VirtualCluster.Testing;

/// <summary>
/// A Unix socket that forwards every connection to the real Docker socket, until <see cref="Cut"/>: then it stops
/// listening, drops every open connection and deletes its socket file. To a driver pointed at it, the daemon is
/// gone mid-run, while the shared daemon (and the container) carry on, so the test can still clean up.
/// Shared by the driver tests and the integration tests (linked source).
/// </summary>
public sealed class SocketProxy : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly List<Socket> _open = [];
    private readonly CancellationTokenSource _cut = new();
    private readonly string _target;

    public SocketProxy(string target)
    {
        _target = target;
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"vc-proxy-{Guid.NewGuid():N}.sock");
        _listener.Bind(new UnixDomainSocketEndPoint(Path));
        _listener.Listen(64);
        _ = AcceptAsync();
    }

    public string Path { get; }

    public string Endpoint => "unix://" + Path;

    public void Cut()
    {
        if (_cut.IsCancellationRequested) return;
        _cut.Cancel();
        _listener.Dispose();
        lock (_open)
        {
            foreach (var socket in _open) socket.Dispose();
            _open.Clear();
        }
        try { File.Delete(Path); } catch (IOException) { }
    }

    public void Dispose() => Cut();

    private async Task AcceptAsync()
    {
        while (!_cut.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_cut.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            var upstream = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try { await upstream.ConnectAsync(new UnixDomainSocketEndPoint(_target)); }
            catch (SocketException) { client.Dispose(); upstream.Dispose(); continue; }
            lock (_open)
            {
                if (_cut.IsCancellationRequested) { client.Dispose(); upstream.Dispose(); return; }
                _open.Add(client);
                _open.Add(upstream);
            }
            _ = PumpAsync(client, upstream);
            _ = PumpAsync(upstream, client);
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _cut.Token);
                if (read == 0) break;
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _cut.Token);
            }
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }
}
