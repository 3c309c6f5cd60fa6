using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VirtualCluster.Dns;
using Xunit.Abstractions;

namespace VirtualCluster.Gateway.Tests.Dns;

/// <summary>The UDP server on a free loopback port, asked by the real `dig`, and fed garbage by a raw socket.</summary>
public sealed class DnsServerDigTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly FixedRecords _records = new("hello");
    private DnsServer _server = null!;
    private int _port;

    public async Task InitializeAsync()
    {
        _records.Texts["_acme-challenge.hello"] = ["dns-01-digest"];
        var options = Options.Create(new DnsServerOptions { Listen = "127.0.0.1:0", Domain = "vc.test", Addresses = ["127.0.0.1", "::1"], BurstPerSource = 10_000, QueriesPerSecondPerSource = 10_000,
            MaxTcpConnections = 4, TcpIdleTimeout = TimeSpan.FromMilliseconds(500) });
        Assert.True(new DnsServerOptionsValidator().Validate(null, options.Value).Succeeded);
        _server = new DnsServer(options, _records, TimeProvider.System, new DnsMetrics(), NullLogger<DnsServer>.Instance);
        await _server.StartAsync(CancellationToken.None);
        _port = _server.LocalEndPoint!.Port;
    }

    public async Task DisposeAsync()
    {
        await _server.StopAsync(CancellationToken.None);
        _server.Dispose();
    }

    private async Task<string> DigAsync(params string[] arguments)
    {
        var text = await Dig.AskAsync(_port, arguments);
        output.WriteLine($"$ dig {string.Join(' ', arguments)}\n{text}");
        return text;
    }

    [Fact]
    public async Task Dig_gets_the_address_records_of_a_service_authoritatively()
    {
        var a = await DigAsync("hello.vc.test", "A");
        Assert.Contains("status: NOERROR", a);
        Assert.Matches(@"flags: qr aa rd;", a); // authoritative, and no "ra": no recursion here
        Assert.Matches(@"hello\.vc\.test\.\s+30\s+IN\s+A\s+127\.0\.0\.1", a);
        Assert.Contains("WARNING: recursion requested but not available", a);

        Assert.Matches(@"hello\.vc\.test\.\s+30\s+IN\s+AAAA\s+::1", await DigAsync("hello.vc.test", "AAAA"));
        Assert.Equal("\"dns-01-digest\"", (await DigAsync("+short", "_acme-challenge.hello.vc.test", "TXT")).Trim());
        // Without EDNS too (plain RFC 1035).
        Assert.Equal("127.0.0.1", (await DigAsync("+short", "+noedns", "HELLO.vc.test", "A")).Trim());
    }

    [Fact]
    public async Task Dig_gets_NXDOMAIN_SOA_NS_and_REFUSED_outside_the_zone()
    {
        var nx = await DigAsync("nope.vc.test", "A");
        Assert.Contains("status: NXDOMAIN", nx);
        Assert.Matches(@"vc\.test\.\s+30\s+IN\s+SOA\s+ns1\.vc\.test\. hostmaster\.vc\.test\. \d+ 3600 600 86400 30", nx);

        Assert.Matches(@"^ns1\.vc\.test\. hostmaster\.vc\.test\. \d+ 3600 600 86400 30$", (await DigAsync("+short", "vc.test", "SOA")).Trim());
        var ns = await DigAsync("vc.test", "NS");
        Assert.Matches(@"vc\.test\.\s+30\s+IN\s+NS\s+ns1\.vc\.test\.", ns);
        Assert.Matches(@"ns1\.vc\.test\.\s+30\s+IN\s+A\s+127\.0\.0\.1", ns); // glue

        Assert.Contains("status: REFUSED", await DigAsync("example.com", "A"));
    }

    [Fact]
    public async Task Dig_over_tcp_gets_the_same_answers()
    {
        var a = await DigAsync("+tcp", "hello.vc.test", "A");
        Assert.Contains("status: NOERROR", a);
        Assert.Matches(@"hello\.vc\.test\.\s+30\s+IN\s+A\s+127\.0\.0\.1", a);
        Assert.Contains("(TCP)", a); // dig names the transport it used
        Assert.Contains("status: NXDOMAIN", await DigAsync("+tcp", "nope.vc.test", "A"));
        Assert.Equal("\"dns-01-digest\"", (await DigAsync("+tcp", "+short", "_acme-challenge.hello.vc.test", "TXT")).Trim());
    }

    [Fact]
    public async Task Tcp_clients_that_idle_flood_or_send_garbage_are_closed_and_others_still_get_answers()
    {
        // Pipelined queries on one connection are answered in order.
        using (var client = await ConnectAsync())
        {
            await client.SendAsync(Framed(DnsPackets.Query("hello.vc.test", 1, id: 1)).Concat(Framed(DnsPackets.Query("hello.vc.test", 28, id: 2))).ToArray());
            Assert.Equal(1, (await ReadAnswerAsync(client))![1]);
            Assert.Equal(2, (await ReadAnswerAsync(client))![1]);
        }
        // A client that sends half a query and waits is closed after the idle time (0.5 s here), not held forever.
        using (var slow = await ConnectAsync())
        {
            await slow.SendAsync(Framed(DnsPackets.Query("hello.vc.test", 1)).Take(7).ToArray());
            Assert.Null(await ReadAnswerAsync(slow, TimeSpan.FromSeconds(10)));
        }
        // A length prefix out of bounds closes the connection.
        using (var garbage = await ConnectAsync())
        {
            await garbage.SendAsync(new byte[] { 0xFF, 0xFF, 1, 2, 3 });
            Assert.Null(await ReadAnswerAsync(garbage, TimeSpan.FromSeconds(10)));
        }
        // More connections than MaxTcpConnections (4): the extra ones are closed at once, the first ones still work.
        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < 4; i++) held.Add(await ConnectAsync());
            await Wait(() => _server.TcpConnections == 4);
            using var extra = await ConnectAsync();
            Assert.Null(await ReadAnswerAsync(extra, TimeSpan.FromSeconds(10)));
            await held[0].SendAsync(Framed(DnsPackets.Query("hello.vc.test", 1, id: 7)));
            Assert.Equal(7, (await ReadAnswerAsync(held[0]))![1]);
        }
        finally
        {
            foreach (var s in held) s.Dispose();
        }
        await Wait(() => _server.TcpConnections == 0);
        Assert.Contains("status: NOERROR", await DigAsync("+tcp", "hello.vc.test", "A")); // and a new client is served again
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _port));
        return socket;
    }

    private static byte[] Framed(byte[] message) => [(byte)(message.Length >> 8), (byte)message.Length, .. message];

    /// <summary>One length-prefixed answer, or null when the server closed the connection first.</summary>
    private static async Task<byte[]?> ReadAnswerAsync(Socket socket, TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(10));
        var prefix = new byte[2];
        if (!await ReadAsync(socket, prefix, timeout.Token)) return null;
        var body = new byte[prefix[0] << 8 | prefix[1]];
        return await ReadAsync(socket, body, timeout.Token) ? body : null;
    }

    private static async Task<bool> ReadAsync(Socket socket, byte[] buffer, CancellationToken ct)
    {
        for (var read = 0; read < buffer.Length;)
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, ct);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                return false; // closed with our bytes unread: a reset rather than a FIN, closed all the same
            }
            if (n == 0) return false;
            read += n;
        }
        return true;
    }

    private static async Task Wait(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Garbage_truncated_and_oversized_packets_leave_the_server_answering()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var target = new IPEndPoint(IPAddress.Loopback, _port);
        var random = new Random(53);
        var good = DnsPackets.Query("hello.vc.test", 1);
        for (var i = 0; i < 2000; i++)
        {
            var packet = (i % 4) switch
            {
                0 => RandomBytes(random, random.Next(0, 512)),
                1 => good[..random.Next(0, good.Length)],
                2 => RandomBytes(random, random.Next(4097, 9000)), // larger than the receive buffer
                _ => [.. good[..12], .. RandomBytes(random, random.Next(0, 300))],
            };
            await socket.SendToAsync(packet, SocketFlags.None, target);
        }
        // No answer is larger than 512 bytes (none of these asked for more), whatever came in.
        var replies = await DrainAsync(socket, size => Assert.InRange(size, 12, 512));
        output.WriteLine($"{replies} replies to 2000 hostile packets");
        // Positive control: the server still answers dig at once.
        Assert.Equal("127.0.0.1", (await DigAsync("+short", "hello.vc.test", "A")).Trim());
    }

    [Fact]
    public async Task A_flood_from_one_source_is_cut_to_its_rate()
    {
        var options = Options.Create(new DnsServerOptions { Listen = "127.0.0.1:0", Domain = "vc.test", QueriesPerSecondPerSource = 1, BurstPerSource = 5 });
        using var server = new DnsServer(options, _records, TimeProvider.System, new DnsMetrics(), NullLogger<DnsServer>.Instance);
        await server.StartAsync(CancellationToken.None);
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var query = DnsPackets.Query("hello.vc.test", 1);
            for (var i = 0; i < 50; i++) await socket.SendToAsync(query, SocketFlags.None, server.LocalEndPoint!);
            var replies = await DrainAsync(socket, _ => { });
            // The burst (5) plus what refilled while the 50 were answered (1/s): never most of them.
            Assert.InRange(replies, 5, 8);
        }
        finally { await server.StopAsync(CancellationToken.None); }
    }

    /// <summary>Counts the replies until none has come for a second (the server may lag on a loaded machine).</summary>
    private static async Task<int> DrainAsync(Socket socket, Action<int> check)
    {
        var buffer = new byte[65536];
        var replies = 0;
        while (true)
        {
            using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            try
            {
                var got = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), quiet.Token);
                check(got.ReceivedBytes);
                replies++;
            }
            catch (OperationCanceledException) { return replies; }
        }
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
