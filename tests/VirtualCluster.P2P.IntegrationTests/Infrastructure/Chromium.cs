using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>
/// Headless Debian chromium with its own temporary profile, driven over the DevTools protocol (one page target,
/// Runtime.evaluate). Flags: no mDNS hiding of local addresses and loopback candidates allowed, so a .NET peer on
/// 127.0.0.1 can connect. Disposal kills the browser's process tree and deletes the profile.
/// </summary>
internal sealed partial class Chromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    // Kept for the page's WebSocket, which came from its connection pool.
    private readonly SocketsHttpHandler _handler = new() { UseProxy = false };
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private int _nextId;
    private readonly Dictionary<int, TaskCompletionSource<JsonObject>> _pending = [];
    private Task? _reader;

    private Chromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    // A quiet headless browser: no first-run UI, no background traffic of its own besides the pages it is told to load.
    private static readonly string[] HeadlessFlags =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    public static string? UnavailableReason() =>
        File.Exists("/usr/bin/chromium") ? null : "chromium is not installed: run scripts/install-p2p-deps.sh as root (apt-get install -y chromium)";

    /// <summary>
    /// Starts the browser on <paramref name="url"/> and attaches to that page. With <paramref name="netns"/> it runs
    /// inside that network namespace, and <paramref name="connect"/> must open TCP connections in the same namespace
    /// (its DevTools endpoint listens on that namespace's loopback).
    /// </summary>
    public static async Task<Chromium> StartAsync(string url, TimeSpan timeout, string? netns = null, IEnumerable<string>? extraArgs = null,
        Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>? connect = null)
    {
        if (UnavailableReason() is { } reason) throw new InvalidOperationException(reason);
        var profile = Directory.CreateTempSubdirectory("vcdtls-chromium-").FullName;
        var info = new ProcessStartInfo(netns is null ? "/usr/bin/chromium" : "ip") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (netns is not null) foreach (var a in new[] { "netns", "exec", netns, "/usr/bin/chromium" }) info.ArgumentList.Add(a);
        foreach (var a in HeadlessFlags.Concat(
        [
            $"--user-data-dir={profile}", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
            "--disable-features=WebRtcHideLocalIpsWithMdns", "--allow-loopback-in-peer-connection",
        ]).Concat(extraArgs ?? []).Append(url)) info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        var chromium = new Chromium(process, profile);
        try
        {
            var endpoint = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is { } line && DevToolsLine().Match(line) is { Success: true } m) endpoint.TrySetResult(new Uri(m.Groups[1].Value));
            };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var browser = await endpoint.Task.WaitAsync(timeout);
            var handler = chromium._handler;
            if (connect is not null) handler.ConnectCallback = connect;
            using var http = new HttpClient(handler, disposeHandler: false);
            var deadline = DateTime.UtcNow + timeout;
            string? pageSocket = null;
            while (pageSocket is null)
            {
                var targets = JsonNode.Parse(await http.GetStringAsync($"http://{browser.Authority}/json/list"))!.AsArray();
                pageSocket = targets.Select(t => t!.AsObject()).FirstOrDefault(t => (string?)t["type"] == "page" && ((string?)t["url"] ?? "").StartsWith(url, StringComparison.Ordinal))?["webSocketDebuggerUrl"]?.GetValue<string>();
                if (pageSocket is null)
                {
                    if (DateTime.UtcNow > deadline) throw new TimeoutException($"chromium opened no page for {url}");
                    await Task.Delay(50);
                }
            }
            using var invoker = new HttpMessageInvoker(handler, disposeHandler: false);
            await chromium._socket.ConnectAsync(new Uri(pageSocket), invoker, CancellationToken.None);
            chromium._reader = chromium.ReadLoopAsync();
            return chromium;
        }
        catch
        {
            await chromium.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Loads <paramref name="url"/> once in a one-shot browser (<c>--dump-dom</c>) with <paramref name="home"/> as HOME, so
    /// its certificate trust comes from the NSS store in <c>home/.pki/nssdb</c> (its profile lives under home too). Returns
    /// the DOM printed after the load and the browser's stderr, which names why a load failed
    /// (<c>Page load failed: net::ERR_CERT_AUTHORITY_INVALID</c>). The browser's process tree is killed when it outlives
    /// <paramref name="timeout"/>.
    /// </summary>
    public static async Task<(string Dom, string Errors)> DumpDomAsync(string url, string home, TimeSpan timeout, IEnumerable<string>? extraArgs = null)
    {
        if (UnavailableReason() is { } reason) throw new InvalidOperationException(reason);
        var info = new ProcessStartInfo("/usr/bin/chromium") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.Environment["HOME"] = home;
        foreach (var a in HeadlessFlags.Append($"--user-data-dir={Path.Combine(home, "profile")}").Concat(extraArgs ?? []).Append("--dump-dom").Append(url))
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var dom = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"chromium --dump-dom {url} did not finish within {timeout.TotalSeconds} s; its stderr:\n{await errors}");
        }
        return (await dom, await errors);
    }

    /// <summary>Evaluates an expression in the page (awaiting a promise) and returns its JSON value.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression, TimeSpan timeout)
    {
        var result = await CallAsync("Runtime.evaluate", new JsonObject
        {
            ["expression"] = expression, ["awaitPromise"] = true, ["returnByValue"] = true,
        }, timeout);
        if (result["exceptionDetails"] is JsonObject details)
            throw new InvalidOperationException($"page error: {details["exception"]?["description"] ?? details["text"]}");
        return result["result"]?["value"]?.DeepClone();
    }

    /// <summary>Saves a PNG of the page as it is now to <paramref name="path"/> (the dashboard tests keep them as artifacts).</summary>
    public async Task CaptureScreenshotAsync(string path, TimeSpan timeout)
    {
        var result = await CallAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" }, timeout);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(result["data"]!.GetValue<string>()));
    }

    /// <summary>Makes the page lay itself out as on a device <paramref name="width"/> CSS pixels wide (a phone when <paramref name="mobile"/>).</summary>
    public Task SetViewportAsync(int width, int height, bool mobile, TimeSpan timeout) =>
        CallAsync("Emulation.setDeviceMetricsOverride", new JsonObject
        {
            ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = mobile,
        }, timeout);

    private async Task<JsonObject> CallAsync(string method, JsonObject parameters, TimeSpan timeout)
    {
        var id = Interlocked.Increment(ref _nextId);
        var done = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_pending) _pending[id] = done;
        var bytes = Encoding.UTF8.GetBytes(new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters }.ToJsonString());
        await _sendLock.WaitAsync();
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, CancellationToken.None);
        }
        finally
        {
            _sendLock.Release();
        }
        var reply = await done.Task.WaitAsync(timeout);
        if (reply["error"] is JsonObject error) throw new InvalidOperationException($"DevTools {method}: {error["message"]}");
        return reply["result"]!.AsObject();
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[1 << 20];
        var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var r = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (r.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, r.Count);
                if (!r.EndOfMessage) continue;
                var json = JsonNode.Parse(message.ToArray())!.AsObject();
                message.SetLength(0);
                if (json["id"] is { } idNode)
                {
                    TaskCompletionSource<JsonObject>? waiter;
                    lock (_pending) _pending.Remove(idNode.GetValue<int>(), out waiter);
                    waiter?.TrySetResult(json);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or JsonException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
        }
        _socket.Dispose();
        _handler.Dispose();
        if (_reader is not null) await Task.WhenAny(_reader, Task.Delay(1000));
        _process.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex("DevTools listening on (ws://\\S+)")]
    private static partial Regex DevToolsLine();
}
