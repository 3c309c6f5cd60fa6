namespace VirtualCluster.P2P.Signaling;

/// <summary>Signaling over a text stream, one JSON message per line (e.g. a child process's stdin and stdout).</summary>
public sealed class JsonLinesSignalingChannel(TextReader reader, TextWriter writer) : ISignalingChannel
{
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    /// <summary>Lines that were not valid signaling messages.</summary>
    public int Malformed { get; private set; }

    /// <inheritdoc />
    public async Task SendAsync(SignalingMessage message, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await writer.WriteLineAsync(message.ToJson().AsMemory(), cancellationToken).ConfigureAwait(false);
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<SignalingMessage?> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (SignalingMessage.TryParse(line, out var message)) return message;
            Malformed++;
        }
        return null;
    }
}
