using System.Net;
using VirtualCluster.P2P.Transport;

namespace VirtualCluster.P2P.Tests;

/// <summary>A socket that records what is sent (with the fake clock's time) and lets the test inject datagrams.</summary>
internal sealed class RecordingSocket(TimeProvider time, IPEndPoint? local = null) : IDatagramSocket
{
    private DatagramHandler? _handler;

    public IPEndPoint LocalEndPoint { get; } = local ?? new IPEndPoint(IPAddress.Parse("192.0.2.10"), 5000);
    public List<(TimeSpan At, byte[] Data, IPEndPoint To)> Sent { get; } = [];
    private readonly DateTimeOffset _start = time.GetUtcNow();

    public void Send(ReadOnlySpan<byte> datagram, IPEndPoint destination)
    {
        lock (Sent) Sent.Add((time.GetUtcNow() - _start, datagram.ToArray(), destination));
    }

    public void Start(DatagramHandler handler) => _handler = handler;

    public void Inject(byte[] datagram, IPEndPoint from) => _handler!(datagram, from);

    public void Dispose() { }
}
