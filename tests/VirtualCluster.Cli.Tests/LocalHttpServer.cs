using System.Net;
using System.Net.Sockets;
using System.Text;

namespace VirtualCluster.Cli.Tests;

/// <summary>What a <see cref="LocalHttpServer"/> answers; <see cref="Drop"/> closes the connection after reading the request.</summary>
public sealed record Reply(int Status, string Body = "", string? RetryAfter = null)
{
    public static readonly Reply Drop = new(0);
}

/// <summary>
/// A real HTTP/1.1 server on a free loopback port, one request per connection, so tests see what the CLI does on real
/// sockets: refused connections, 503s with Retry-After, a connection that breaks after the request was received.
/// </summary>
public sealed class LocalHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<string, Reply> _reply;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<string> _requests = [];
    private readonly Task _loop;

    /// <param name="reply">The answer to "METHOD /path?query".</param>
    public LocalHttpServer(Func<string, Reply> reply)
    {
        _reply = reply;
        _listener.Start();
        Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _loop = AcceptAsync();
    }

    public string Url { get; }

    /// <summary>"METHOD /path?query" of every request received in full, in order.</summary>
    public IReadOnlyList<string> Requests
    {
        get { lock (_gate) return [.. _requests]; }
    }

    /// <summary>A URL on which nothing listens: the port was free a moment ago, so connecting is refused.</summary>
    public static string ClosedUrl()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}";
    }

    /// <summary>Stops accepting connections: from now on connecting is refused, as when the machine's process died.</summary>
    public void StopListening() => _listener.Stop();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop;
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = ServeAsync(client);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
            // Stopped (by DisposeAsync or StopListening).
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var request = await ReadRequestAsync(stream);
                lock (_gate) _requests.Add(request);
                var reply = _reply(request);
                if (reply == Reply.Drop) return;
                var body = Encoding.UTF8.GetBytes(reply.Body);
                var head = new StringBuilder($"HTTP/1.1 {reply.Status} {(HttpStatusCode)reply.Status}\r\n")
                    .Append("Content-Type: application/json\r\n")
                    .Append($"Content-Length: {body.Length}\r\n")
                    .Append("Connection: close\r\n");
                if (reply.RetryAfter is not null) head.Append($"Retry-After: {reply.RetryAfter}\r\n");
                head.Append("\r\n");
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), _stop.Token);
                await stream.WriteAsync(body, _stop.Token);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
            {
                // The client went away or the server is stopping.
            }
        }
    }

    /// <summary>Reads the head and the body (by Content-Length); returns "METHOD /path?query".</summary>
    private async Task<string> ReadRequestAsync(NetworkStream stream)
    {
        var buffer = new List<byte>();
        var one = new byte[1];
        while (!EndsWithBlankLine(buffer))
        {
            if (await stream.ReadAsync(one, _stop.Token) == 0) throw new IOException("the client closed the connection mid-request");
            buffer.Add(one[0]);
        }
        var lines = Encoding.ASCII.GetString([.. buffer]).Split("\r\n");
        var length = lines.Select(l => l.Split(':', 2))
            .Where(p => p.Length == 2 && p[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            .Select(p => int.Parse(p[1].Trim(), System.Globalization.CultureInfo.InvariantCulture))
            .FirstOrDefault();
        if (length > 0) await stream.ReadExactlyAsync(new byte[length], _stop.Token);
        var parts = lines[0].Split(' ');
        return $"{parts[0]} {parts[1]}";
    }

    private static bool EndsWithBlankLine(List<byte> b) =>
        b.Count >= 4 && b[^4] == '\r' && b[^3] == '\n' && b[^2] == '\r' && b[^1] == '\n';
}
