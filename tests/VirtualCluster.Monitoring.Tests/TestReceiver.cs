using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace VirtualCluster.Monitoring.Tests;

/// <summary>
/// An HTTP receiver on Kestrel (loopback, a given port) that keeps every JSON body posted to it and answers
/// <paramref name="status"/> to the first <paramref name="failFirst"/> posts, then 200. Kestrel rather than
/// HttpListener: the managed HttpListener throws from Start() when a client is already connecting to the port, which
/// is exactly the case of a receiver that comes up while a sender retries.
/// </summary>
internal sealed class TestReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _seen;

    private TestReceiver(WebApplication app) => _app = app;

    public ConcurrentQueue<JsonElement> Received { get; } = new();

    public static async Task<TestReceiver> StartAsync(int port, HttpStatusCode status = HttpStatusCode.OK, int failFirst = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var receiver = new TestReceiver(app);
        app.MapPost("/{**path}", async (HttpRequest request) =>
        {
            using var json = await JsonDocument.ParseAsync(request.Body);
            receiver.Received.Enqueue(json.RootElement.Clone());
            return Interlocked.Increment(ref receiver._seen) <= failFirst ? Results.StatusCode((int)status) : Results.Ok();
        });
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
