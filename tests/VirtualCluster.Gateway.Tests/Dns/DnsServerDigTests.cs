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
        var options = Options.Create(new DnsServerOptions { Listen = "127.0.0.1:0", Domain = "vc.test", Addresses = ["127.0.0.1", "::1"], BurstPerSource = 10_000, QueriesPerSecondPerSource = 10_000 });
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
