using System.IO.Pipelines;

namespace VirtualCluster.Replication.Sync;

/// <summary>
/// Runs a sync against a receiver in the same process through a pipe with back-pressure (so a bundle of any size
/// streams in bounded memory), counting the bytes each way as if they crossed a wire.
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
        // Both sides block in synchronous reads and writes on their own threads; inline completions wake them without
        // needing a free thread-pool thread, which a loaded machine may not have for a while.
        var pipe = new Pipe(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false));
        var response = new MemoryStream();
        var receive = Task.Factory.StartNew(() =>
        {
            using var input = pipe.Reader.AsStream();
            try
            {
                if (step == SyncStep.Plan) receiver.Plan(input, response);
                else receiver.Apply(input);
                // Drain what the sender still writes after the receiver has read all it needs (compressor trailer).
                input.CopyTo(Stream.Null);
            }
            catch (Exception e)
            {
                pipe.Reader.Complete(e);
                throw;
            }
        }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            await using (var request = new CountingStream(pipe.Writer.AsStream(), n => Interlocked.Add(ref _sent, n)))
                await writeRequest(request, cancellationToken).ConfigureAwait(false);
            await pipe.Writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // A receiver's refusal breaks the pipe under the sender: its own error explains more than the broken pipe.
            await pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
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
