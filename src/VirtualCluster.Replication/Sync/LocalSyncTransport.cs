namespace VirtualCluster.Replication.Sync;

/// <summary>
/// Runs a sync against a receiver in the same process through a bounded pipe (1 MiB, so a bundle of any size streams
/// in bounded memory), counting the bytes each way as if they crossed a wire.
/// </summary>
public sealed class LocalSyncTransport(DirectorySyncReceiver receiver) : ISyncTransport
{
    private long _sent;
    private long _received;

    /// <summary>Request bytes sent so far (compressed, as they would cross the wire).</summary>
    public long BytesSent => Interlocked.Read(ref _sent);

    /// <summary>Response bytes received so far.</summary>
    public long BytesReceived => Interlocked.Read(ref _received);

    /// <inheritdoc />
    public async Task<Stream> SendAsync(SyncStep step, Func<Stream, CancellationToken, Task> writeRequest, CancellationToken cancellationToken = default)
    {
        var pipe = new BlockingPipe(1024 * 1024);
        var response = new MemoryStream();
        var receive = Task.Factory.StartNew(() =>
        {
            var input = pipe.Reader;
            try
            {
                if (step == SyncStep.Plan) receiver.Plan(input, response);
                else receiver.Apply(input);
                // Drain what the sender still writes after the receiver has read all it needs (the end marker).
                input.CopyTo(Stream.Null);
            }
            catch (Exception e)
            {
                pipe.CompleteReader(e);
                throw;
            }
        }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            using (var request = new CountingStream(pipe.Writer, n => Interlocked.Add(ref _sent, n)))
                await writeRequest(request, cancellationToken).ConfigureAwait(false);
            pipe.CompleteWriter();
        }
        catch (Exception e)
        {
            // A receiver's refusal breaks the pipe under the sender: its own error explains more than the broken pipe.
            pipe.CompleteWriter(e);
            try { await receive.ConfigureAwait(false); }
            catch (ReplicationException refused) when (!ReferenceEquals(refused, e)) { throw; }
            catch (Exception) { }
            throw;
        }
        await receive.ConfigureAwait(false);
        Interlocked.Add(ref _received, response.Length);
        response.Position = 0;
        return response;
    }
}
