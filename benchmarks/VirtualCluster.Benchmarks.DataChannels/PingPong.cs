using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.PeerConnections;
using VirtualCluster.P2P.Sctp;
using VirtualCluster.P2P.Transport;

namespace VirtualCluster.Benchmarks.DataChannels;

/// <summary>
/// Request/response latency over one kept-alive DataChannelStream pair (what an HTTP connection through the gateway
/// does): the client writes a request, the server answers with a response of the given size, repeated; reports the
/// median and 90th percentile round trip beside TCP loopback carrying the same exchange in the same run.
/// A regression check for timer-bound stalls (delayed SACK, late wake-ups), which show up as milliseconds here.
/// </summary>
internal static class PingPong
{
    /// <summary>DtlsTransportOptions.MaxProbeMtu of the peer transport (0: 1200-byte datagrams only).</summary>
    public static int ProbeMtu { get; set; }

    public static async Task RunAsync(string[] transports, int mtu, int rounds, int requestBytes, int[] responseSizes, int pairs)
    {
        Console.WriteLine($"# ping-pong: {rounds} round trips per row on each of {pairs} concurrent stream pairs (one association / one TCP connection each), {requestBytes}-byte requests, packets of {mtu} bytes");
        Console.WriteLine("| transport | response | median round trip ms | p90 ms | ratio to TCP median |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var size in responseSizes)
        {
            var tcp = await TcpAsync(rounds, requestBytes, size, pairs);
            Console.WriteLine($"| tcp loopback (reference) | {size / 1024} KiB | {tcp.Median:0.000} | {tcp.P90:0.000} | 1.0 |");
            foreach (var kind in transports)
            {
                var dc = await DataChannelAsync(kind, mtu, rounds, requestBytes, size, pairs);
                Console.WriteLine($"| {kind} data channel | {size / 1024} KiB | {dc.Median:0.000} | {dc.P90:0.000} | {dc.Median / tcp.Median:0.0} |");
            }
        }
    }

    private static async Task<(double Median, double P90)> TcpAsync(int rounds, int requestBytes, int responseBytes, int pairs)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var streams = new List<(Stream Client, Stream Server)>();
        var sockets = new List<TcpClient>();
        for (var i = 0; i < pairs; i++)
        {
            var client = new TcpClient { NoDelay = true };
            var accept = listener.AcceptTcpClientAsync();
            await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
            var server = await accept;
            server.NoDelay = true;
            sockets.Add(client);
            sockets.Add(server);
            streams.Add((client.GetStream(), server.GetStream()));
        }
        var result = await ExchangeAllAsync(streams, rounds, requestBytes, responseBytes);
        foreach (var s in sockets) s.Dispose();
        return result;
    }

    /// <summary>Two PeerConnections on loopback (ICE + DTLS + SCTP), what the gateway's peer link runs on.</summary>
    private static async Task<(double Median, double P90)> PeerConnectionAsync(int rounds, int requestBytes, int responseBytes, int pairs)
    {
        static PeerConnectionOptions Options() => new()
        {
            Ice = new IceAgentOptions { LocalAddresses = [IPAddress.Loopback], IncludeLoopback = true },
            Dtls = new VirtualCluster.P2P.Dtls.DtlsTransportOptions { MaxProbeMtu = ProbeMtu },
        };
        await using var a = new PeerConnection(Options());
        await using var b = new PeerConnection(Options());
        a.IceCandidate += c => b.AddIceCandidate(c);
        b.IceCandidate += c => a.AddIceCandidate(c);
        var accepted = new TaskCompletionSource<DataChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.DataChannel += c => accepted.TrySetResult(c);
        b.SetRemoteDescription(await a.CreateOfferAsync());
        a.SetRemoteDescription(await b.CreateAnswerAsync());
        var streams = new List<(Stream Client, Stream Server)>();
        for (var i = 0; i < pairs; i++)
        {
            accepted = new TaskCompletionSource<DataChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
            var channel = a.CreateDataChannel("pingpong");
            await channel.WaitForOpenAsync().WaitAsync(TimeSpan.FromSeconds(30));
            var remote = await accepted.Task.WaitAsync(TimeSpan.FromSeconds(30));
            streams.Add((new DataChannelStream(channel), new DataChannelStream(remote)));
        }
        var result = await ExchangeAllAsync(streams, rounds, requestBytes, responseBytes);
        foreach (var (c, s) in streams) { await c.DisposeAsync(); await s.DisposeAsync(); }
        return result;
    }

    private static async Task<(double Median, double P90)> ExchangeAllAsync(List<(Stream Client, Stream Server)> streams, int rounds, int requestBytes, int responseBytes)
    {
        var all = await Task.WhenAll(streams.Select(p => Task.Run(() => ExchangeAsync(p.Client, p.Server, rounds, requestBytes, responseBytes))));
        var times = all.SelectMany(x => x).Order().ToArray();
        return (times[times.Length / 2], times[times.Length * 9 / 10]);
    }

    private static async Task<(double Median, double P90)> DataChannelAsync(string kind, int mtu, int rounds, int requestBytes, int responseBytes, int pairs)
    {
        if (kind == "peer") return await PeerConnectionAsync(rounds, requestBytes, responseBytes, pairs);
        IPacketTransport ta, tb;
        MemoryLink? link = null;
        if (kind == "memory") { link = new MemoryLink(mtu) { QueueLimit = 65536 }; (ta, tb) = (link.A, link.B); }
        else (ta, tb) = UdpPacketTransport.CreatePair(mtu);
        await using var a = new SctpAssociation(ta, isDtlsClient: true, new SctpOptions());
        await using var b = new SctpAssociation(tb, isDtlsClient: false, new SctpOptions());
        a.RemoteMaxMessageSize = b.LocalMaxMessageSize;
        b.RemoteMaxMessageSize = a.LocalMaxMessageSize;
        var accepted = new TaskCompletionSource<DataChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.DataChannelOpened += c => accepted.TrySetResult(c);
        // Each channel opened below replaces 'accepted' before it is created.
        await Task.WhenAll(a.ConnectAsync(), b.ConnectAsync()).WaitAsync(TimeSpan.FromSeconds(10));
        var streams = new List<(Stream Client, Stream Server)>();
        for (var i = 0; i < pairs; i++)
        {
            accepted = new TaskCompletionSource<DataChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
            var channel = a.CreateDataChannel("pingpong");
            var remote = await accepted.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await channel.WaitForOpenAsync().WaitAsync(TimeSpan.FromSeconds(10));
            streams.Add((new DataChannelStream(channel), new DataChannelStream(remote)));
        }
        var result = await ExchangeAllAsync(streams, rounds, requestBytes, responseBytes);
        foreach (var (c, s) in streams) { await c.DisposeAsync(); await s.DisposeAsync(); }
        await ta.DisposeAsync();
        await tb.DisposeAsync();
        link?.Dispose();
        return result;
    }

    private static async Task<double[]> ExchangeAsync(Stream client, Stream server, int rounds, int requestBytes, int responseBytes)
    {
        var serving = Task.Run(async () =>
        {
            var request = new byte[requestBytes];
            var response = new byte[responseBytes];
            for (var i = 0; i < rounds; i++)
            {
                await server.ReadExactlyAsync(request);
                await server.WriteAsync(response);
            }
        });
        var req = new byte[requestBytes];
        var resp = new byte[responseBytes];
        var times = new double[rounds];
        for (var i = 0; i < rounds; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await client.WriteAsync(req);
            await client.ReadExactlyAsync(resp);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        await serving.WaitAsync(TimeSpan.FromSeconds(30));
        return times;
    }
}
