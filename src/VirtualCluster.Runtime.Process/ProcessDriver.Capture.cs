namespace VirtualCluster.Runtime.Process;

public sealed partial class ProcessDriver
{
    /// <summary>How often running instances' output files are read (one loop for the whole driver).</summary>
    private static readonly TimeSpan OutputPollInterval = TimeSpan.FromMilliseconds(100);

    private readonly CancellationTokenSource _stopPolling = new();
    private int _polling;

    /// <summary>A tail of the instance's output files whose lines go to its log (memory and <c>output.log</c>).</summary>
    private OutputTail NewTail(ProcessInstance instance, CaptureOffsets start, OutputFile output) =>
        new(instance.DataDirectory, start,
            (stream, text) => instance.Logs.Append(_time.GetUtcNow(), stream, text, output),
            _options.MaxLineLength, _options.MaxOutputFileBytes, _logger);

    /// <summary>Starts the poll loop on first use; it runs until the driver is disposed.</summary>
    private void StartPolling()
    {
        if (Interlocked.Exchange(ref _polling, 1) == 0) _ = PollOutputAsync(_stopPolling.Token);
    }

    private async Task PollOutputAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(OutputPollInterval, _time, cancellationToken).ConfigureAwait(false);
                ProcessInstance[] all;
                lock (_sync) all = [.. _instances.Values];
                foreach (var instance in all)
                {
                    if (instance.State != WorkloadState.Running || instance.Tail is not { } tail) continue;
                    tail.Poll();
                    // Nothing else tells us an adopted process ended; noticing here also reads its last lines.
                    RefreshAdopted(instance);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Driver disposed.
        }
    }

    /// <summary>
    /// Reads what an instance that ended while no driver was watching wrote after the last saved offsets (the agent
    /// died while it ran), so those lines are not lost.
    /// </summary>
    private void ReadLeftover(ProcessInstance instance)
    {
        using var output = new OutputFile(instance.DataDirectory, _options.MaxOutputFileBytes, _logger);
        using var tail = NewTail(instance, CaptureOffsets.Read(instance.DataDirectory), output);
        tail.Finish();
    }
}
