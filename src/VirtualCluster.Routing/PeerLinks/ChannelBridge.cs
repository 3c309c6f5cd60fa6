using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using VirtualCluster.P2P.DataChannels;

namespace VirtualCluster.Routing.PeerLinks;

/// <summary>Agent side of one channel: checks the label and the port, connects to loopback, answers, and copies both ways.</summary>
internal static partial class ChannelBridge
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    /// <param name="scope">What the peer may reach, for the refusal ("an instance running on this node").</param>
    public static async Task ServeAsync(DataChannel channel, string peer, Func<int, bool> isInstancePort, long highWaterMark, ILogger logger,
        string scope = "an instance running on this node")
    {
        try
        {
            if (!ChannelProtocol.TryParseLabel(channel.Label, out var port, out var error))
            {
                Refuse(channel, peer, error, logger);
                return;
            }
            if (!channel.Ordered || channel.MaxRetransmits is not null || channel.MaxPacketLifeTime is not null)
            {
                Refuse(channel, peer, "a proxied connection needs a reliable, ordered channel", logger);
                return;
            }
            if (!isInstancePort(port))
            {
                Refuse(channel, peer, $"port {port} is not a port of {scope}", logger);
                return;
            }
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using var timeout = new CancellationTokenSource(ConnectTimeout);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                Refuse(channel, peer, $"nothing answers on 127.0.0.1:{port} ({(e is SocketException s ? s.SocketErrorCode.ToString() : "timed out")})", logger);
                return;
            }
            if (channel.State != DataChannelState.Open)
            {
                socket.Dispose();
                return;
            }
            // Reads continue on the link's receive thread (no thread-pool hop per message): the reader is the pump
            // below, whose only other await is the socket write to the instance, which does not block.
            var stream = new DataChannelStream(channel, highWaterMark, inlineReads: true);
            var local = new NetworkStream(socket, ownsSocket: true);
            channel.Send(ChannelProtocol.Ok);
            LogBridging(logger, peer, channel.Label, channel.Id);
            var (fromPeer, toPeer) = await BridgeAsync(stream, local).ConfigureAwait(false);
            LogBridged(logger, peer, channel.Label, channel.Id, fromPeer, toPeer);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or ObjectDisposedException)
        {
            // The channel or the link went away while setting up: nothing to answer to.
            channel.Close();
        }
    }

    /// <summary>Copies both ways until either side ends, then closes both (a data channel has no half close).</summary>
    /// <summary>Copies both ways until either side ends, then closes both; returns the bytes copied each way.</summary>
    public static async Task<(long FromChannel, long ToChannel)> BridgeAsync(Stream channel, Stream local)
    {
        var up = PumpAsync(local, channel);
        var down = PumpAsync(channel, local);
        await Task.WhenAny(up, down).ConfigureAwait(false);
        // Closing the channel still sends what is queued, then resets the stream: the peer reads everything, then EOF.
        await channel.DisposeAsync().ConfigureAwait(false);
        await local.DisposeAsync().ConfigureAwait(false);
        return (await down.ConfigureAwait(false), await up.ConfigureAwait(false));
    }

    private static async Task<long> PumpAsync(Stream from, Stream to)
    {
        // A data channel message per read: 64 KiB (the stream's message size) keeps messages and packets few.
        var buffer = new byte[64 * 1024];
        long total = 0;
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
                total += n;
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or SocketException or InvalidOperationException)
        {
            // The other side went away; BridgeAsync closes both.
        }
        return total;
    }

    private static void Refuse(DataChannel channel, string peer, string reason, ILogger logger)
    {
        LogRefused(logger, peer, ChannelProtocol.Shorten(channel.Label), reason);
        try
        {
            if (channel.State == DataChannelState.Open) channel.Send(ChannelProtocol.RefusedPrefix + reason);
        }
        catch (InvalidOperationException)
        {
            // Closed meanwhile.
        }
        channel.Close();
    }

    [LoggerMessage(5302, LogLevel.Debug, "Peer link: channel {Label} (stream {Stream}) from {Peer} bridged to the instance")]
    private static partial void LogBridging(ILogger logger, string peer, string label, int stream);

    [LoggerMessage(5303, LogLevel.Debug, "Peer link: channel {Label} (stream {Stream}) from {Peer} ended: {FromPeer} bytes from the peer, {ToPeer} to it")]
    private static partial void LogBridged(ILogger logger, string peer, string label, int stream, long fromPeer, long toPeer);

    [LoggerMessage(5301, LogLevel.Information, "Peer link: channel {Label} from {Peer} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string peer, string label, string reason);
}
