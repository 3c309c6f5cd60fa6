using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using VirtualCluster.IntegrationTests.Infrastructure;
using VirtualCluster.Security.Tls;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// Agents' tunnels and signaling to a gateway run over TLS with a certificate of the cluster CA, on the gateway's
/// plain-http port (real control-plane, gateway and agent processes): plain text is refused there, browsers still get
/// plain http, and an agent refuses a gateway presenting another CA's certificate without ever sending its token.
/// </summary>
public sealed class GatewayAgentTlsTests(ITestOutputHelper output)
{
    private static readonly string[] Loopback = ["--p2p-loopback"];

    [Fact]
    public async Task Tunnel_and_signaling_run_over_TLS_and_the_same_token_in_plain_text_is_refused()
    {
        await using var stack = await GatewayStack.StartAsync(agents: 2, _ => Loopback, Loopback);
        try
        {
            // Browsers: plain http on the same port, through the agent's (TLS) tunnel or peer link.
            await stack.DeployHelloAsync("web", replicas: 1);
            // The gateway logs the protocol of each agent connection: both of the agent's are TLS 1.2 or 1.3, with its
            // node's client certificate.
            await stack.Gateway.WaitForOutputAsync("Agent connection /v1/tunnel from 127.0.0.1 over Tls1", TimeSpan.FromSeconds(30));
            await stack.Gateway.WaitForOutputAsync("Agent connection /v1/signaling from 127.0.0.1 over Tls1", TimeSpan.FromSeconds(30));
            Assert.Contains("client certificate: node-", stack.Gateway.Output);
            Assert.DoesNotContain("in plain text", stack.Gateway.Output);

            var token = stack.Cluster.MachineToken("node-1");
            var tunnelsBefore = await stack.TunnelsAsync();
            // The same valid machine token over plain ws:// is refused (426) and logged, and nothing changes.
            foreach (var path in new[] { "/v1/tunnel", "/v1/signaling" })
            {
                using var plain = new ClientWebSocket();
                plain.Options.SetRequestHeader("Authorization", "Bearer " + token);
                var refused = await Assert.ThrowsAsync<WebSocketException>(() => plain.ConnectAsync(new Uri($"ws://127.0.0.1:{stack.Port}{path}"), CancellationToken.None));
                Assert.Contains("426", refused.Message);
                await stack.Gateway.WaitForOutputAsync($"Refused {path} from 127.0.0.1 in plain text (426)", TimeSpan.FromSeconds(10));
            }
            Assert.Equal(tunnelsBefore, await stack.TunnelsAsync());

            // Positive control: the same token and path over TLS, checked against the cluster CA, is accepted.
            var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(stack.Cluster.Directory, "cp", "ca.crt"));
            var validator = PinnedCaValidator.ForCertificate(ca);
            using (var tls = new ClientWebSocket())
            {
                tls.Options.SetRequestHeader("Authorization", "Bearer " + token);
                tls.Options.RemoteCertificateValidationCallback = validator.Validate;
                await tls.ConnectAsync(new Uri($"wss://127.0.0.1:{stack.Port}/v1/signaling"), CancellationToken.None);
                Assert.Equal(WebSocketState.Open, tls.State);
                await tls.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            }

            // A node's client certificate goes with that node's token only: node-2's certificate with node-1's token is
            // refused (403, logged); node-1's own certificate with it is accepted.
            using (var node2 = stack.Cluster.NodeCertificate("node-2"))
            using (var mismatched = new ClientWebSocket())
            {
                mismatched.Options.SetRequestHeader("Authorization", "Bearer " + token);
                mismatched.Options.RemoteCertificateValidationCallback = validator.Validate;
                mismatched.Options.ClientCertificates = new X509CertificateCollection { node2 };
                var refused = await Assert.ThrowsAsync<WebSocketException>(() => mismatched.ConnectAsync(new Uri($"wss://127.0.0.1:{stack.Port}/v1/signaling"), CancellationToken.None));
                Assert.Contains("403", refused.Message);
                await stack.Gateway.WaitForOutputAsync("(403): the client certificate is node ", TimeSpan.FromSeconds(10));
            }
            using (var node1 = stack.Cluster.NodeCertificate("node-1"))
            using (var matched = new ClientWebSocket())
            {
                matched.Options.SetRequestHeader("Authorization", "Bearer " + token);
                matched.Options.RemoteCertificateValidationCallback = validator.Validate;
                matched.Options.ClientCertificates = new X509CertificateCollection { node1 };
                await matched.ConnectAsync(new Uri($"wss://127.0.0.1:{stack.Port}/v1/signaling"), CancellationToken.None);
                Assert.Equal(WebSocketState.Open, matched.State);
                await matched.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            }

            // A raw TCP client speaking plain HTTP still gets the gateway's own page: only the agents' endpoints need TLS.
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, stack.Port);
            var stream = tcp.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
            var answer = await new StreamReader(stream).ReadToEndAsync();
            Assert.StartsWith("HTTP/1.1 200", answer);
        }
        catch
        {
            output.WriteLine(stack.Diagnostics());
            output.WriteLine("--- agent\n" + stack.Cluster.Agents["node-1"].Output);
            throw;
        }
    }

    [Fact]
    public async Task With_require_client_cert_a_valid_machine_token_alone_is_refused()
    {
        // The stack waits for the agent's tunnel: an agent (which presents its node's certificate) is admitted.
        await using var stack = await GatewayStack.StartAsync(agents: 1, _ => Loopback, [.. Loopback, "--require-client-cert"]);
        try
        {
            await stack.Gateway.WaitForOutputAsync("Agent connection /v1/signaling from 127.0.0.1 over Tls1", TimeSpan.FromSeconds(30));
            var token = stack.Cluster.MachineToken("node-1");
            var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(stack.Cluster.Directory, "cp", "ca.crt"));
            var validator = PinnedCaValidator.ForCertificate(ca);
            foreach (var path in new[] { "/v1/tunnel", "/v1/signaling" })
            {
                using var bare = new ClientWebSocket();
                bare.Options.SetRequestHeader("Authorization", "Bearer " + token);
                bare.Options.RemoteCertificateValidationCallback = validator.Validate;
                var refused = await Assert.ThrowsAsync<WebSocketException>(() => bare.ConnectAsync(new Uri($"wss://127.0.0.1:{stack.Port}{path}"), CancellationToken.None));
                Assert.Contains("403", refused.Message);
                await stack.Gateway.WaitForOutputAsync($"Refused {path} from 127.0.0.1 (403): no client certificate, and this gateway requires one", TimeSpan.FromSeconds(10));
            }
            // Positive control: the same token with the node's certificate is accepted.
            using var node1 = stack.Cluster.NodeCertificate("node-1");
            using var matched = new ClientWebSocket();
            matched.Options.SetRequestHeader("Authorization", "Bearer " + token);
            matched.Options.RemoteCertificateValidationCallback = validator.Validate;
            matched.Options.ClientCertificates = new X509CertificateCollection { node1 };
            await matched.ConnectAsync(new Uri($"wss://127.0.0.1:{stack.Port}/v1/signaling"), CancellationToken.None);
            Assert.Equal(WebSocketState.Open, matched.State);
            await matched.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }
        catch
        {
            output.WriteLine(stack.Diagnostics());
            output.WriteLine("--- agent\n" + stack.Cluster.Agents["node-1"].Output);
            throw;
        }
    }

    [Fact]
    public async Task An_agent_refuses_a_gateway_with_another_CA_certificate_and_never_sends_its_token()
    {
        await using var impostor = ImpostorGateway.Start();
        // Positive control of the impostor: a client that accepts any certificate hands it the token it sends.
        using (var careless = new ClientWebSocket())
        {
            careless.Options.SetRequestHeader("Authorization", "Bearer control-token");
            careless.Options.RemoteCertificateValidationCallback = (_, _, _, _) => true;
            await Assert.ThrowsAnyAsync<Exception>(() => careless.ConnectAsync(new Uri($"wss://127.0.0.1:{impostor.Port}/v1/tunnel"), CancellationToken.None));
        }
        await Wait.UntilAsync(() => Task.FromResult(impostor.Authorizations.Contains("Bearer control-token")), TimeSpan.FromSeconds(10), "the impostor to read the control token");

        // The agent is told about the impostor first and the real gateway second: the real one gets its tunnel (the
        // positive control that the agent's TLS works), the impostor gets handshakes that the agent aborts.
        await using var stack = await GatewayStack.StartAsync(agents: 1, _ => Loopback, Loopback, own => $"http://127.0.0.1:{impostor.Port},{own}");
        try
        {
            var agent = stack.Cluster.Agents["node-1"];
            await agent.WaitForOutputAsync($"Gateway http://127.0.0.1:{impostor.Port}/: refused its TLS certificate", TimeSpan.FromSeconds(30));
            await Wait.UntilAsync(() => Task.FromResult(impostor.Connections >= 3), TimeSpan.FromSeconds(30), "the agent's tunnel and signaling attempts at the impostor");
            Assert.Equal(["Bearer control-token"], impostor.Authorizations);
            // Under TLS 1.3 the impostor's side of a handshake may complete before the agent has checked its certificate,
            // but the agent then aborts: not one request reached the impostor besides the careless client's.
            Assert.Single(impostor.Received.Split("GET ", StringSplitOptions.RemoveEmptyEntries));
            Assert.DoesNotContain(stack.Cluster.MachineToken("node-1"), impostor.Received);
            Assert.Single(await stack.TunnelsAsync());
        }
        catch
        {
            output.WriteLine(stack.Diagnostics());
            output.WriteLine("--- agent\n" + stack.Cluster.Agents["node-1"].Output);
            throw;
        }
    }

    [Fact]
    public async Task Plain_ws_works_only_when_both_sides_ask_for_it_and_both_warn()
    {
        // Compatibility: a gateway with --allow-plain-agents and an agent given ws://. Both log a warning.
        await using var stack = await GatewayStack.StartAsync(agents: 1, _ => ["--p2p", "off"], ["--allow-plain-agents", "--p2p", "off"],
            own => own.Replace("http://", "ws://"));
        try
        {
            await stack.DeployHelloAsync("web", replicas: 1);
            Assert.Contains("accepted over plain ws:// too", stack.Gateway.Output);
            Assert.Contains("ws:// asked for explicitly", stack.Cluster.Agents["node-1"].Output);
            Assert.DoesNotContain("Agent connection /v1/tunnel", stack.Gateway.Output);
        }
        catch
        {
            output.WriteLine(stack.Diagnostics());
            output.WriteLine("--- agent\n" + stack.Cluster.Agents["node-1"].Output);
            throw;
        }
    }

    /// <summary>
    /// A man in the middle: a TLS server with a certificate of another cluster's CA on loopback, recording every
    /// connection, completed handshake, and the Authorization header of any request it gets to read.
    /// </summary>
    private sealed class ImpostorGateway : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly X509Certificate2 _certificate;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly StringBuilder _received = new();
        private int _connections;

        private ImpostorGateway(TcpListener listener, X509Certificate2 certificate)
        {
            _listener = listener;
            _certificate = certificate;
            _loop = Task.Run(AcceptAsync);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
        public int Connections => Volatile.Read(ref _connections);
        public List<string> Authorizations { get; } = [];

        public string Received
        {
            get { lock (_received) return _received.ToString(); }
        }

        public static ImpostorGateway Start()
        {
            using var otherCa = ClusterCa.Create("another-cluster", TimeProvider.System);
            var certificate = otherCa.IssueServerCertificate(["localhost"], [IPAddress.Loopback], TimeSpan.FromDays(1), TimeProvider.System);
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return new ImpostorGateway(listener, certificate);
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
                catch (Exception) { return; }
                Interlocked.Increment(ref _connections);
                _ = Task.Run(() => ServeAsync(client));
            }
        }

        private async Task ServeAsync(TcpClient client)
        {
            using (client)
            {
                try
                {
                    await using var tls = new SslStream(client.GetStream());
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                    timeout.CancelAfter(TimeSpan.FromSeconds(10));
                    await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, timeout.Token);
                    var buffer = new byte[16384];
                    var text = new StringBuilder();
                    int n;
                    while (!text.ToString().Contains("\r\n\r\n") && (n = await tls.ReadAsync(buffer, timeout.Token)) > 0)
                        text.Append(Encoding.ASCII.GetString(buffer, 0, n));
                    lock (_received) _received.Append(text);
                    foreach (var line in text.ToString().Split("\r\n"))
                        if (line.StartsWith("Authorization:", StringComparison.OrdinalIgnoreCase))
                            lock (Authorizations) Authorizations.Add(line["Authorization:".Length..].Trim());
                    await tls.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), timeout.Token);
                }
                catch (Exception e) when (e is IOException or AuthenticationException or OperationCanceledException or SocketException)
                {
                    // The agent aborted the handshake: what this test expects.
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            try { await _loop; } catch (OperationCanceledException) { }
            _certificate.Dispose();
            _stop.Dispose();
        }
    }
}
