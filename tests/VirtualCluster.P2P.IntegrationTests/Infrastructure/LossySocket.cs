using System.Net;
using VirtualCluster.P2P.Transport;

namespace VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>A real UDP socket that drops a fixed share of the datagrams it receives (seeded, so runs are repeatable).</summary>
internal sealed class LossySocket(IPEndPoint bind, double lossRate, int seed) : IDatagramSocket
{
    private readonly UdpDatagramSocket _inner = new(bind);
    private readonly Random _random = new(seed);
    private long _received;
    private long _dropped;

    public IPEndPoint LocalEndPoint => _inner.LocalEndPoint;

    public long Received => Interlocked.Read(ref _received);

    public long Dropped => Interlocked.Read(ref _dropped);

    public void Send(ReadOnlySpan<byte> datagram, IPEndPoint destination) => _inner.Send(datagram, destination);

    public void Start(DatagramHandler handler) => _inner.Start((datagram, source) =>
    {
        Interlocked.Increment(ref _received);
        bool drop;
        lock (_random) drop = _random.NextDouble() < lossRate;
        if (drop)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }
        handler(datagram, source);
    });

    public void Dispose() => _inner.Dispose();
}
