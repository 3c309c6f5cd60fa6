using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VirtualCluster.Gateway.Tests.Access;

/// <summary>
/// The Debian chromium package, headless, driven over the DevTools protocol (one page). Every *.localhost name
/// resolves to 127.0.0.1. Fails with what to install when chromium is missing; never downloads a browser.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly Process process;
    private readonly string profile;
    private readonly ClientWebSocket page = new();
    private int nextId;

    private HeadlessChromium(Process process, string profile)
    {
        this.process = process;
        this.profile = profile;
    }

    public static async Task<HeadlessChromium> StartAsync()
    {
        const string executable = "/usr/bin/chromium";
        if (!File.Exists(executable))
            throw new InvalidOperationException("chromium is not installed: run scripts/install-p2p-deps.sh as root (apt-get install chromium)");
        var profile = Directory.CreateTempSubdirectory("vc-gwaccess-chromium-").FullName;
        var info = new ProcessStartInfo(executable) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", $"--user-data-dir={profile}", "--remote-debugging-port=0",
            "--host-resolver-rules=MAP *.localhost 127.0.0.1", "about:blank",
        }) info.ArgumentList.Add(arg);
        var process = Process.Start(info)!;
        process.ErrorDataReceived += (_, _) => { };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var browser = new HeadlessChromium(process, profile);
        try
        {
            await browser.AttachAsync();
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    private async Task AttachAsync()
    {
        // Chromium writes the port it picked into the profile once it listens.
        var portFile = Path.Combine(profile, "DevToolsActivePort");
        var stop = DateTime.UtcNow + Deadline;
        string[]? lines = null;
        while (DateTime.UtcNow < stop && !process.HasExited)
        {
            if (File.Exists(portFile) && (lines = File.ReadAllLines(portFile)).Length >= 2) break;
            await Task.Delay(50);
        }
        if (lines is not { Length: >= 2 }) throw new InvalidOperationException("chromium did not open its DevTools port");
        using var http = new HttpClient();
        string? url = null;
        while (url is null && DateTime.UtcNow < stop)
        {
            var targets = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{lines[0]}/json/list"))!.AsArray();
            url = targets.FirstOrDefault(t => (string?)t!["type"] == "page")?["webSocketDebuggerUrl"]?.GetValue<string>();
            if (url is null) await Task.Delay(50);
        }
        await page.ConnectAsync(new Uri(url ?? throw new InvalidOperationException("chromium has no page")), CancellationToken.None);
    }

    /// <summary>Navigates and waits until <paramref name="ready"/> holds for the page's state.</summary>
    public async Task<PageState> OpenAsync(string url, Func<PageState, bool> ready)
    {
        await CallAsync("Page.navigate", new JsonObject { ["url"] = url });
        var stop = DateTime.UtcNow + Deadline;
        PageState state;
        do
        {
            await Task.Delay(50);
            var result = await CallAsync("Runtime.evaluate", new JsonObject
            {
                ["expression"] = "JSON.stringify({href: location.href, cookie: document.cookie, body: document.body ? document.body.innerText : ''})",
                ["returnByValue"] = true,
            });
            var json = (string?)result["result"]?["value"] ?? "{}";
            state = JsonSerializer.Deserialize<PageState>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web)) ?? new PageState("", "", "");
        }
        while (!ready(state) && DateTime.UtcNow < stop);
        return state;
    }

    private async Task<JsonNode> CallAsync(string method, JsonObject parameters)
    {
        var id = ++nextId;
        var request = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters };
        using var timeout = new CancellationTokenSource(Deadline);
        await page.SendAsync(Encoding.UTF8.GetBytes(request.ToJsonString()), WebSocketMessageType.Text, true, timeout.Token);
        var buffer = new byte[1 << 20];
        while (true)
        {
            var length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                result = await page.ReceiveAsync(buffer.AsMemory(length), timeout.Token);
                length += result.Count;
            }
            while (!result.EndOfMessage);
            var message = JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, length))!;
            if ((int?)message["id"] != id) continue; // an event, or an older answer
            return message["result"] ?? throw new InvalidOperationException($"{method} failed: {message["error"]?.ToJsonString()}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        page.Dispose();
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
        }
        process.Dispose();
        try { Directory.Delete(profile, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>What the page shows: its address, the cookies script can see, and its text.</summary>
internal sealed record PageState(string Href, string Cookie, string Body);
