using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>
/// The test's web endpoint for the browser on 127.0.0.1 at a free port (HTTP/1.1, one request per connection): GET /
/// serves the page, GET /poll long-polls the next signaling message for the browser (204 after 5 s with none),
/// POST /send takes one JSON message from the browser.
/// </summary>
internal sealed class SignalingServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<string> _toBrowser = Channel.CreateUnbounded<string>();
    private readonly Channel<JsonObject> _fromBrowser = Channel.CreateUnbounded<JsonObject>();
    private readonly string _page;
    private readonly Task _loop;

    public SignalingServer(string page)
    {
        _page = page;
        _listener.Start();
        _loop = AcceptLoopAsync();
    }

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/";

    public void SendToBrowser(JsonObject message) => _toBrowser.Writer.TryWrite(message.ToJsonString());

    public async Task<JsonObject> ReceiveAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        return await _fromBrowser.Reader.ReadAsync(cts.Token);
    }

    /// <summary>Forwards browser messages to <paramref name="handler"/> as they come (runs until disposal).</summary>
    public Task PumpAsync(Func<JsonObject, Task> handler) => Task.Run(async () =>
    {
        try
        {
            await foreach (var m in _fromBrowser.Reader.ReadAllAsync(_stop.Token)) await handler(m);
        }
        catch (OperationCanceledException)
        {
        }
    });

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = HandleAsync(client);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            var reader = new StreamReader(stream, Encoding.UTF8, false, 4096, leaveOpen: true);
            var requestLine = await reader.ReadLineAsync(_stop.Token) ?? "";
            var length = 0;
            string? line;
            while (!string.IsNullOrEmpty(line = await reader.ReadLineAsync(_stop.Token)))
            {
                if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) length = int.Parse(line[15..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
            var body = new char[length];
            var read = 0;
            while (read < length) read += await reader.ReadAsync(body.AsMemory(read), _stop.Token);
            var parts = requestLine.Split(' ');
            var (method, path) = (parts[0], parts.Length > 1 ? parts[1] : "/");
            if (method == "GET" && path == "/") await RespondAsync(stream, 200, "text/html", _page);
            else if (method == "POST" && path == "/send")
            {
                if (JsonNode.Parse(new string(body)) is JsonObject message) _fromBrowser.Writer.TryWrite(message);
                await RespondAsync(stream, 200, "text/plain", "ok");
            }
            else if (method == "GET" && path == "/poll")
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                wait.CancelAfter(TimeSpan.FromSeconds(5));
                string? next = null;
                try
                {
                    next = await _toBrowser.Reader.ReadAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                }
                if (next is null) await RespondAsync(stream, 204, "text/plain", "");
                else await RespondAsync(stream, 200, "application/json", next);
            }
            else await RespondAsync(stream, 404, "text/plain", "not found");
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private static async Task RespondAsync(Stream stream, int status, string type, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var head = $"HTTP/1.1 {status} X\r\nContent-Type: {type}; charset=utf-8\r\nContent-Length: {bytes.Length}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(bytes);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
    }
}
