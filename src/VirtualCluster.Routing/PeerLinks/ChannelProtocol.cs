using System.Globalization;
using System.Text;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.PeerConnections;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Routing.PeerLinks;

/// <summary>
/// One proxied TCP connection per data channel. The gateway opens a reliable ordered channel labelled
/// <c>tcp/&lt;port&gt;</c>; the agent connects to 127.0.0.1:&lt;port&gt; and answers with a text message <c>ok</c>, or
/// <c>refused: &lt;reason&gt;</c> and closes the channel. Bytes flow only after <c>ok</c>, so the gateway knows whether
/// the connection exists before it sends a request (and can retry another instance when it does not).
/// </summary>
internal static class ChannelProtocol
{
    public const string LabelPrefix = "tcp/";
    public const string Ok = "ok";
    public const string RefusedPrefix = "refused: ";

    /// <summary>The port of a <c>tcp/&lt;port&gt;</c> label; false with the reason otherwise.</summary>
    public static bool TryParseLabel(string label, out int port, out string error)
    {
        port = 0;
        error = "";
        if (!label.StartsWith(LabelPrefix, StringComparison.Ordinal) || label.Length > LabelPrefix.Length + 5
            || !int.TryParse(label.AsSpan(LabelPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            error = $"channel label \"{Shorten(label)}\" is not tcp/<port> with a port 1-65535";
            return false;
        }
        return true;
    }

    /// <summary>Gateway side: opens the channel for <paramref name="port"/> and waits for the node's answer.</summary>
    /// <exception cref="TunnelRefusedException">The node refused (not an instance port, nothing listening).</exception>
    /// <exception cref="IOException">The link broke or the node did not answer in time.</exception>
    public static async Task<DataChannelStream> OpenAsync(PeerConnection connection, int port, long highWaterMark, TimeSpan timeout, CancellationToken ct)
    {
        var result = new TaskCompletionSource<DataChannelStream>(TaskCreationOptions.RunContinuationsAsynchronously);
        DataChannelMessageHandler? onMessage = null;
        onMessage = (c, data, isBinary) =>
        {
            c.MessageReceived -= onMessage;
            var text = isBinary || data.Length > 1024 ? null : Encoding.UTF8.GetString(data);
            if (text == Ok)
            {
                // Created inside the handler so that no byte after "ok" can slip past the stream. Reads continue on the
                // link's receive thread: the reader is the proxy's HTTP connection, which never blocks on the stream.
                if (!result.TrySetResult(new DataChannelStream(c, highWaterMark, inlineReads: true))) c.Close();
                return;
            }
            result.TrySetException(new TunnelRefusedException(text is not null && text.StartsWith(RefusedPrefix, StringComparison.Ordinal)
                ? text[RefusedPrefix.Length..] : "the node answered the channel open with something other than ok/refused"));
            c.Close();
        };
        Action<DataChannel, string?> onClosed = (_, reason) =>
            result.TrySetException(new IOException($"the channel closed before the node answered{(reason is null ? "" : ": " + reason)}"));
        DataChannel channel;
        try
        {
            // Handlers go on before the open is sent: on a loaded machine the node's answer can arrive before a
            // handler attached after CreateDataChannel returns, and the "ok" would be lost.
            channel = connection.CreateDataChannel(LabelPrefix + port.ToString(CultureInfo.InvariantCulture), new DataChannelInit { Ordered = true },
                c => { c.MessageReceived += onMessage; c.Closed += onClosed; });
        }
        catch (InvalidOperationException e)
        {
            throw new IOException($"the peer link cannot open a channel: {e.Message}", e);
        }
        try
        {
            return await result.Task.WaitAsync(timeout, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            channel.Close();
            throw new IOException($"the node did not answer the channel open within {timeout.TotalSeconds:0.#} s");
        }
        catch (OperationCanceledException)
        {
            channel.Close();
            throw;
        }
        finally
        {
            channel.Closed -= onClosed;
        }
    }

    public static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
