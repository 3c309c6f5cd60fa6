// A tiny web service for the sample specs: answers "/" with who it is and "/health" with "ok"; also a WebSocket
// echo (/ws), a streamed download (/bytes/{n}) and server-sent events (/sse) to show what passes a gateway.
// The process driver passes the assigned port in PORT.
var port = Environment.GetEnvironmentVariable("PORT") ?? "8080";
var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseUrls($"http://0.0.0.0:{port}");
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var app = builder.Build();
app.UseWebSockets();
var instance = Environment.GetEnvironmentVariable("VC_INSTANCE_ID") ?? "local";
var node = Environment.GetEnvironmentVariable("VC_NODE_NAME") ?? Environment.MachineName;
var greeting = Environment.GetEnvironmentVariable("GREETING") ?? "hello";
app.MapGet("/", () => $"{greeting} from {instance} on {node}\n");
app.MapGet("/health", () => "ok\n");

// n bytes (at most 1 GiB) of a repeating 0..250 pattern, written in 64 KiB pieces: never held in memory whole.
app.MapGet("/bytes/{n:long}", async (long n, HttpResponse response, CancellationToken ct) =>
{
    if (n is < 0 or > 1L << 30) { response.StatusCode = 400; await response.WriteAsync("n must be 0..1073741824\n", ct); return; }
    response.ContentType = "application/octet-stream";
    response.ContentLength = n;
    var chunk = new byte[64 * 1024];
    for (var i = 0; i < chunk.Length; i++) chunk[i] = (byte)(i % 251);
    for (long sent = 0; sent < n;)
    {
        // Each piece continues the pattern where the last one stopped.
        var offset = (int)(sent % 251);
        var count = (int)Math.Min(chunk.Length - 251, n - sent);
        await response.Body.WriteAsync(chunk.AsMemory(offset, count), ct);
        sent += count;
    }
});

app.MapGet("/sse", async (HttpResponse response, CancellationToken ct) =>
{
    response.ContentType = "text/event-stream";
    for (var i = 0; i < 5; i++)
    {
        await response.WriteAsync($"data: {i} from {instance}\n\n", ct);
        await response.Body.FlushAsync(ct);
        await Task.Delay(100, ct);
    }
});

app.Map("/ws", async (HttpContext context) =>
{
    if (!context.WebSockets.IsWebSocketRequest) { context.Response.StatusCode = 400; await context.Response.WriteAsync("WebSocket upgrade expected\n"); return; }
    using var socket = await context.WebSockets.AcceptWebSocketAsync();
    var buffer = new byte[16 * 1024];
    while (true)
    {
        var result = await socket.ReceiveAsync(buffer, context.RequestAborted);
        if (result.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
        {
            await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "bye", context.RequestAborted);
            return;
        }
        await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, context.RequestAborted);
    }
});
// Calls another service of the cluster at the address the agent gives this instance (VC_SERVICE_<NAME>_URL) and
// answers with what it said: a service-to-service call, for the samples and the tests.
var calls = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
app.MapGet("/call/{service}", async (string service, HttpResponse response, CancellationToken ct) =>
{
    var variable = "VC_SERVICE_" + new string(service.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToUpperInvariant(c) : '_').ToArray()) + "_URL";
    if (Environment.GetEnvironmentVariable(variable) is not { Length: > 0 } url)
    {
        response.StatusCode = 404;
        await response.WriteAsync($"{variable} is not set: the agent gave this instance no address for \"{service}\"\n", ct);
        return;
    }
    try
    {
        using var answer = await calls.GetAsync(url.TrimEnd('/') + "/", ct);
        response.StatusCode = (int)answer.StatusCode;
        await response.WriteAsync($"{instance} called {service}: " + await answer.Content.ReadAsStringAsync(ct), ct);
    }
    catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
    {
        response.StatusCode = 502;
        await response.WriteAsync($"{instance} could not call {service} at {url}: {e.Message}\n", ct);
    }
});
// Stateful mode for replication tests: numbered records appended to a file in the volume (see Records).
if (Environment.GetEnvironmentVariable("APPEND_RECORDS_TO") is { Length: > 0 } records)
{
    var volume = Environment.GetEnvironmentVariable("VC_VOLUME_DATA") ?? ".";
    _ = Task.Run(() => Records.AppendForeverAsync(Path.Combine(volume, records), TimeSpan.FromMilliseconds(20), app.Lifetime.ApplicationStopping));
}
Console.WriteLine($"HelloService {instance} listening on port {port}");
app.Run();
