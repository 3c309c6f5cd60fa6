using System.Net;
using VirtualCluster.P2P.Transport;

namespace VirtualCluster.P2P.Tests.Transport;

/// <summary>The real UDP socket's own receive thread (blocked in recvfrom) carries datagrams and ends on Dispose.</summary>
public sealed class UdpDatagramSocketTests
{
    // the receive threads are named "udp-<port>"; Linux lists a process's threads with their names under /proc/self/task
    private static int ReceiveThreads(IEnumerable<int> ports) =>
        Directory.GetDirectories("/proc/self/task").Count(task =>
        {
            try
            {
                var name = File.ReadAllText(Path.Combine(task, "comm")).Trim();
                return ports.Any(p => name == $"udp-{p}"[..Math.Min(15, $"udp-{p}".Length)]);
            }
            catch (IOException)
            {
                return false; // the thread ended while listing
            }
        });

    [Fact]
    public async Task Datagrams_arrive_on_the_receive_thread_and_Dispose_ends_it()
    {
        if (!OperatingSystem.IsLinux()) return; // /proc/self/task is how the test sees the threads
        var sockets = Enumerable.Range(0, 20).Select(_ => new UdpDatagramSocket(new IPEndPoint(IPAddress.Loopback, 0))).ToList();
        var ports = sockets.Select(s => s.LocalEndPoint.Port).ToList();
        var received = new TaskCompletionSource<(byte[] Data, IPEndPoint From)>(TaskCreationOptions.RunContinuationsAsynchronously);
        sockets[0].Start((data, from) => received.TrySetResult((data.ToArray(), from)));
        foreach (var s in sockets.Skip(1)) s.Start((_, _) => { });
        sockets[1].Send("ping"u8, sockets[0].LocalEndPoint);
        var (bytes, source) = await received.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("ping"u8.ToArray(), bytes);
        Assert.Equal(sockets[1].LocalEndPoint, source);
        Assert.Equal(20, ReceiveThreads(ports)); // positive control: one thread per started socket

        foreach (var s in sockets) s.Dispose();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (ReceiveThreads(ports) > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(0, ReceiveThreads(ports));
    }

    [Theory]
    [InlineData(1200, 5, 300)]   // base-size DTLS records and a shorter last one
    [InlineData(16421, 2, 16421)] // probed-size records, all the same (three fit one send)
    [InlineData(1200, 1, 0)]      // one datagram: a plain send
    public async Task Segmented_sends_arrive_as_the_separate_datagrams_they_were(int segment, int full, int last)
    {
        using var receiver = new UdpDatagramSocket(new IPEndPoint(IPAddress.Loopback, 0));
        using var sender = new UdpDatagramSocket(new IPEndPoint(IPAddress.Loopback, 0));
        var got = new System.Collections.Concurrent.ConcurrentQueue<byte[]>();
        receiver.Start((data, _) => got.Enqueue(data.ToArray()));
        sender.Start((_, _) => { });
        var expected = new List<byte[]>();
        for (var i = 0; i < full; i++) expected.Add(Datagram(segment, i));
        if (last > 0) expected.Add(Datagram(last, full));
        sender.SendSegments(expected.SelectMany(d => d).ToArray(), segment, receiver.LocalEndPoint);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (got.Count < expected.Count && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.Equal(expected, got.ToArray());
        // on Linux the kernel took them in one call (UDP_SEGMENT); elsewhere they went one by one
        // and on loopback they stayed together up to the receiver, which took them in one receive (UDP_GRO) and split them
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(expected.Count > 1 ? expected.Count : 0, sender.SegmentedDatagrams);
            Assert.Equal(expected.Count > 1 ? 1 : 0, receiver.OffloadedReceives);
        }
    }

    private static byte[] Datagram(int length, int index)
    {
        var d = new byte[length];
        new Random(index).NextBytes(d);
        d[0] = 23; // a DTLS application-data record, as peer links send
        return d;
    }
}
