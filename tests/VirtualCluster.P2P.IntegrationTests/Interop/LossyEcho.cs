using System.Security.Cryptography;
using VirtualCluster.P2P.DataChannels;

namespace VirtualCluster.P2P.IntegrationTests.Interop;

/// <summary>
/// Sends messages one at a time on a channel whose peer echoes them, and counts the echoes. On a channel with
/// maxRetransmits 0 a datagram lost anywhere (a socket buffer of a starved process on a loaded CI machine) is a message
/// lost by design, so a message whose echo does not come within <paramref name="perMessage"/> is counted as lost, not
/// waited for forever; the caller bounds how many may be.
/// </summary>
internal static class LossyEcho
{
    public static async Task<(int Echoed, int Lost)> RunAsync(DataChannel channel, int messages, TimeSpan perMessage)
    {
        var count = 0;
        channel.MessageReceived += (_, data, _) => { if (data.Length == 1000) Interlocked.Increment(ref count); };
        var lost = 0;
        for (var i = 1; i <= messages; i++)
        {
            channel.Send(RandomNumberGenerator.GetBytes(1000));
            var expected = i - lost;
            var deadline = DateTime.UtcNow + perMessage;
            while (Volatile.Read(ref count) < expected && DateTime.UtcNow < deadline) await Task.Delay(5);
            if (Volatile.Read(ref count) < expected) lost++;
        }
        return (Volatile.Read(ref count), lost);
    }
}
