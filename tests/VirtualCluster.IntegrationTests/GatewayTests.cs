using System.Diagnostics;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.RegularExpressions;
using VirtualCluster.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>A local cluster (`local`, real processes) with hello deployed once; every test goes through its gateway.</summary>
public sealed partial class GatewayFixture : IAsyncLifetime
{
    // The gateway answers DNS for the cluster domain too, on a port the system picks (read back from its log).
    public LocalCluster Cluster { get; } = new() { ExtraArguments = ["--dns-listen", "127.0.0.1:0"] };
    internal GatewayClient Client { get; private set; } = null!;

    /// <summary>Pid of the gateway, as `local` printed it.</summary>
    public int GatewayPid => int.Parse(GatewayPidPattern().Match(Cluster.Output).Groups[1].Value);

    public async Task InitializeAsync()
    {
        await Cluster.InitializeAsync();
        Client = new GatewayClient(Cluster.GatewayPort, TimeSpan.FromSeconds(30));
        var spec = $$"""
            { "name": "hello", "command": "dotnet", "args": ["{{RepoPaths.HelloDll}}"], "replicas": 2,
              "resources": { "cpu": "100m", "memory": "64Mi" }, "ports": [{ "name": "http" }], "env": { "GREETING": "hello" },
              "healthCheck": { "type": "http", "port": "http", "path": "/health", "interval": "1s", "gracePeriod": "60s" } }
            """;
        using var api = Cluster.Api();
        // A loaded CI machine may take longer than the API client's 5 s to place a service.
        using var post = new HttpClient(TestTls.Handler(api.Http.BaseAddress!.ToString())) { BaseAddress = api.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        post.DefaultRequestHeaders.Authorization = api.Http.DefaultRequestHeaders.Authorization;
        using var response = await post.PostAsync("/v1/services", new StringContent(spec, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        await api.WaitRunningAsync("hello", TimeSpan.FromSeconds(120));
        // Running is the control plane's view; the gateway learns of healthy endpoints on its next route poll. Every
        // test starts once the stable URL answers, whichever test xunit runs first.
        await Wait.UntilAsync(async () => (await Client.GetAsync("hello")).Status == 200, TimeSpan.FromSeconds(60), "hello to answer through the gateway");
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        await Cluster.DisposeAsync();
    }

    [GeneratedRegex(@"gateway up at \S+ \(pid (\d+)\)")]
    private static partial Regex GatewayPidPattern();
}

/// <summary>Stable URLs through the gateway of `local`: plain GETs, WebSockets, SSE, a 50 MB download, and hostile clients.</summary>
public sealed partial class GatewayTests(GatewayFixture fixture, ITestOutputHelper output) : IClassFixture<GatewayFixture>
{
    private GatewayClient Client => fixture.Client;

    [Fact]
    public async Task Curl_reaches_the_service_at_its_stable_url()
    {
        // The user's way: curl resolves hello.localhost to loopback by itself.
        var url = Client.Url("hello");
        string body = "";
        await Wait.UntilAsync(async () =>
        {
            var (code, text) = await RunCurlAsync("-s", "-m", "5", url);
            body = text;
            return code == 0 && text.StartsWith("hello from hello-", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(30), $"curl {url} to answer from hello");
        output.WriteLine(body);
        Assert.Matches(@"^hello from hello-[0-9a-f]+ on node-\d", body);
    }

    [Fact]
    public async Task Requests_are_spread_over_both_replicas()
    {
        var instances = new HashSet<string>();
        await Wait.UntilAsync(async () =>
        {
            var (status, body) = await Client.GetAsync("hello");
            if (status == 200) instances.Add(body.Split(' ')[2]);
            return instances.Count == 2;
        }, TimeSpan.FromSeconds(30), "answers from both replicas");
    }

    [Fact]
    public async Task A_websocket_echo_passes_through()
    {
        using var socket = new ClientWebSocket();
        using var invoker = new HttpMessageInvoker(Client.Handler, disposeHandler: false);
        await socket.ConnectAsync(new Uri($"ws://hello.localhost:{Client.Port}/ws"), invoker, CancellationToken.None);
        var buffer = new byte[64 * 1024];
        for (var i = 0; i < 20; i++)
        {
            var message = Encoding.UTF8.GetBytes($"message {i} " + new string('x', i * 1000));
            await socket.SendAsync(message, WebSocketMessageType.Text, true, CancellationToken.None);
            var received = new MemoryStream();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                received.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);
            Assert.Equal(message, received.ToArray());
        }
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
    }

    [Fact]
    public async Task Server_sent_events_arrive_as_they_are_sent()
    {
        using var response = await Client.Http.GetAsync(Client.Url("hello", "/sse"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
            if (line.StartsWith("data: ", StringComparison.Ordinal)) events.Add(line);
        Assert.Equal(5, events.Count);
        Assert.StartsWith("data: 0 from hello-", events[0]);
    }

    [Fact]
    public async Task A_50_MB_download_arrives_intact_without_the_gateway_holding_it()
    {
        const long size = 50L * 1024 * 1024;
        var before = Rss(fixture.GatewayPid);
        using var response = await Client.Http.GetAsync(Client.Url("hello", $"/bytes/{size}"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[81920];
        long total = 0, peak = before;
        var started = Stopwatch.StartNew();
        int n;
        while ((n = await body.ReadAsync(buffer)) > 0)
        {
            for (var i = 0; i < n; i++)
                if (buffer[i] != (byte)((total + i) % 251)) Assert.Fail($"byte {total + i} is {buffer[i]}, expected {(total + i) % 251}");
            total += n;
            // Read slowly at first, so a gateway that buffered would have the whole body in memory by now.
            if (total < 8 * 1024 * 1024) await Task.Delay(1);
            if (total % (4 * 1024 * 1024) < n) peak = Math.Max(peak, Rss(fixture.GatewayPid));
        }
        peak = Math.Max(peak, Rss(fixture.GatewayPid));
        output.WriteLine($"{total} bytes in {started.Elapsed.TotalSeconds:0.00} s; gateway RSS {before / 1024 / 1024} MiB before, {peak / 1024 / 1024} MiB peak");
        Assert.Equal(size, total);
        Assert.True(peak - before < 32L * 1024 * 1024, $"the gateway's memory grew by {(peak - before) / 1024 / 1024} MiB during a {size / 1024 / 1024} MiB download");
    }

    [Fact]
    public async Task An_unknown_service_gets_404_naming_it()
    {
        var (status, body) = await Client.GetAsync("no-such-service");
        Assert.Equal(404, status);
        Assert.Contains("no service named \"no-such-service\"", body);
    }

    [Fact]
    public async Task Malformed_and_oversized_hosts_get_400_and_others_are_still_served()
    {
        foreach (var host in new[] { "a..b.localhost", "bad_name.localhost", "x.y.localhost", new string('a', 300) + ".localhost" })
        {
            var (status, reply) = await RawAsync($"GET / HTTP/1.1\r\nHost: {host}:{Client.Port}\r\nConnection: close\r\n\r\n");
            output.WriteLine($"{host[..Math.Min(30, host.Length)]}: {reply.Split('\n')[0]}");
            Assert.Equal(400, status);
        }
        Assert.Equal(200, (await Client.GetAsync("hello")).Status);
    }

    [Fact]
    public async Task A_header_flood_is_refused_and_others_are_still_served()
    {
        var request = new StringBuilder($"GET / HTTP/1.1\r\nHost: hello.localhost:{Client.Port}\r\n");
        for (var i = 0; i < 500; i++) request.Append($"X-Flood-{i}: {new string('z', 100)}\r\n");
        request.Append("Connection: close\r\n\r\n");
        var (status, _) = await RawAsync(request.ToString());
        Assert.Equal(431, status);
        Assert.Equal(200, (await Client.GetAsync("hello")).Status);
    }

    [Fact]
    public async Task A_slowloris_client_is_cut_off_while_others_are_served()
    {
        using var slow = new TcpClient();
        await slow.ConnectAsync("127.0.0.1", Client.Port);
        var stream = slow.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: hello.localhost:{Client.Port}\r\n"));
        var cut = Stopwatch.StartNew();
        var closed = false;
        // Dribble one header byte a second; the gateway's header timeout (10 s) must end it.
        while (cut.Elapsed < TimeSpan.FromSeconds(40) && !closed)
        {
            Assert.Equal(200, (await Client.GetAsync("hello")).Status); // everyone else is served meanwhile
            try
            {
                await stream.WriteAsync("X"u8.ToArray());
                // Readable means the gateway answered (408) or closed the connection.
                closed = await Task.Run(() => slow.Client.Poll(1_000_000, SelectMode.SelectRead));
            }
            catch (IOException) { closed = true; }
        }
        output.WriteLine($"slow client cut after {cut.Elapsed.TotalSeconds:0.0} s");
        Assert.True(closed, "the slow client was never cut off");
    }

    [Fact]
    public async Task An_invalid_websocket_upgrade_fails_alone()
    {
        var (status, _) = await RawAsync($"GET /ws HTTP/1.1\r\nHost: hello.localhost:{Client.Port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
        Assert.InRange(status, 400, 499);
        Assert.Equal(200, (await Client.GetAsync("hello")).Status);
    }

    [Fact]
    public async Task A_token_service_is_checked_by_the_standalone_gateway_through_the_control_plane()
    {
        // local's gateway is its own process with no signing key: it checks tokens with the control plane's JWK Set (GET /v1/jwks).
        var spec = $$"""
            { "name": "private", "command": "dotnet", "args": ["{{RepoPaths.HelloDll}}"], "access": "token",
              "resources": { "cpu": "100m", "memory": "64Mi" }, "ports": [{ "name": "http" }], "env": { "GREETING": "secret" },
              "healthCheck": { "type": "http", "port": "http", "path": "/health", "interval": "1s", "gracePeriod": "60s" } }
            """;
        using var api = fixture.Cluster.Api();
        using var post = new HttpClient(TestTls.Handler(api.Http.BaseAddress!.ToString())) { BaseAddress = api.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        post.DefaultRequestHeaders.Authorization = api.Http.DefaultRequestHeaders.Authorization;
        using (var deployed = await post.PostAsync("/v1/services", new StringContent(spec, Encoding.UTF8, "application/json")))
            Assert.True(deployed.IsSuccessStatusCode, await deployed.Content.ReadAsStringAsync());
        await api.WaitRunningAsync("private", TimeSpan.FromSeconds(120));
        var token = await CreateTokenAsync(post, "private");
        var helloToken = await CreateTokenAsync(post, "hello");

        // Positive control first: with its token the service answers (once the gateway has its route).
        await Wait.UntilAsync(async () => (await SendAsync(Client.Url("private"), bearer: token)).Status == 200,
            TimeSpan.FromSeconds(30), "private to answer with its token");
        var (ok, okBody) = await SendAsync(Client.Url("private"), bearer: token);
        Assert.Equal(200, ok);
        Assert.StartsWith("secret from private-", okBody);

        Assert.Equal(401, (await SendAsync(Client.Url("private"))).Status);
        Assert.Equal(403, (await SendAsync(Client.Url("private"), bearer: helloToken)).Status);
        var tampered = token[..^4] + (token[^4..] == "AAAA" ? "BBBB" : "AAAA");
        Assert.Equal(401, (await SendAsync(Client.Url("private"), bearer: tampered)).Status);
        Assert.Equal(401, (await SendAsync(Client.Url("private"), bearer: "not-a-token")).Status);

        // The browser's way: ?vc_token= is exchanged for an HttpOnly cookie, then the cookie alone is enough.
        var (exchanged, _, cookie) = await SendRawAsync(Client.Url("private", "/?vc_token=" + Uri.EscapeDataString(token)));
        Assert.Equal(302, exchanged);
        Assert.NotNull(cookie);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        var (withCookie, _, _) = await SendRawAsync(Client.Url("private"), cookie.Split(';')[0]);
        Assert.Equal(200, withCookie);
        // Everyone else is still served.
        Assert.Equal(200, (await Client.GetAsync("hello")).Status);
    }

    private static async Task<string> CreateTokenAsync(HttpClient api, string service)
    {
        using var response = await api.PostAsync("/v1/tokens", new StringContent($$"""{"service":"{{service}}","ttl":"01:00:00"}""", Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("token").GetString()!;
    }

    private async Task<(int Status, string Body)> SendAsync(string url, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (bearer is not null) request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        using var response = await Client.Http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Without redirects or a cookie jar, so the exchange's 302 and Set-Cookie are visible.</summary>
    private async Task<(int Status, string Body, string? SetCookie)> SendRawAsync(string url, string? cookie = null)
    {
        using var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false, UseCookies = false,
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(System.Net.IPAddress.Loopback, Client.Port, ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (cookie is not null) request.Headers.Add("Cookie", cookie);
        using var response = await http.SendAsync(request);
        var setCookie = response.Headers.TryGetValues("Set-Cookie", out var values) ? values.FirstOrDefault() : null;
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(), setCookie);
    }

    private async Task<(int Status, string Reply)> RawAsync(string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", Client.Port);
        var stream = tcp.GetStream();
        try { await stream.WriteAsync(Encoding.ASCII.GetBytes(request)); } catch (IOException) { }
        var reply = new MemoryStream();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                reply.Write(buffer, 0, n);
                if (Encoding.ASCII.GetString(reply.ToArray()).Contains("\r\n\r\n")) break;
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException) { }
        var text = Encoding.ASCII.GetString(reply.ToArray());
        var match = Regex.Match(text, @"^HTTP/1\.1 (\d{3})");
        return (match.Success ? int.Parse(match.Groups[1].Value) : 0, text);
    }

    private static long Rss(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    internal static async Task<(int ExitCode, string Output)> RunCurlAsync(params string[] args)
    {
        var info = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout);
    }
}
