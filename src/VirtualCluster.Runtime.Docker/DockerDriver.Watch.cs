using Docker.DotNet;
using VirtualCluster.Runtime.Docker.Engine;

namespace VirtualCluster.Runtime.Docker;

public sealed partial class DockerDriver
{
    /// <summary>Follows a container's output and records its exit, or the loss of the daemon.</summary>
    private async Task WatchAsync(ContainerInstance instance, string containerId)
    {
        var token = _disposing.Token;
        var output = PumpOutputAsync(instance, containerId, token);
        long code;
        try
        {
            code = await _engine.WaitContainerAsync(containerId, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return; // Driver disposed: nobody is watching any more.
        }
        catch (Exception e) when (DockerErrors.IsNotFound(e))
        {
            if (instance.TrySetExited(null, $"container {Short(containerId)} was removed by someone else")) LogExited(instance.Id, Short(containerId), "was removed by someone else");
            return;
        }
        catch (Exception e) when (e is DockerApiException or OperationCanceledException || DockerErrors.IsDaemonUnreachable(e))
        {
            // OperationCanceledException here is a timeout inside the client, not our cancellation.
            var reason = $"lost contact with the Docker daemon at {_engine.Endpoint} while container {Short(containerId)} ran: {DockerErrors.Message(e)}";
            if (instance.TrySetFailed(reason)) LogLost(instance.Id, Short(containerId), DockerErrors.Message(e));
            return;
        }

        try
        {
            await output.WaitAsync(_options.OutputDrainTimeout, _time, token).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Output still flowing from a stream that did not end: report the exit anyway.
        }
        catch (OperationCanceledException)
        {
            return;
        }
        var outcome = await DescribeExitAsync(instance, containerId, code).ConfigureAwait(false);
        if (instance.TrySetExited((int)code, outcome)) LogExited(instance.Id, Short(containerId), outcome);
    }

    private async Task<string> DescribeExitAsync(ContainerInstance instance, string containerId, long code)
    {
        if (instance.StopRequested) return $"stopped (exit code {code})";
        try
        {
            var details = await _engine.InspectContainerAsync(containerId, _disposing.Token).ConfigureAwait(false);
            if (details?.State is { OOMKilled: true })
            {
                var limit = details.HostConfig?.Memory is > 0 and var bytes ? $" ({Quantity.FormatBytes(bytes)})" : "";
                return $"exited with code {code}: killed for going over its memory limit{limit}";
            }
            if (details?.State?.Error is { Length: > 0 } error) return $"exited with code {code}: {error}";
        }
        catch (Exception e) when (e is DockerApiException or OperationCanceledException || DockerErrors.IsDaemonUnreachable(e))
        {
            // The exit code is what matters; details are a bonus.
        }
        return $"exited with code {code}";
    }

    /// <summary>
    /// Reads the container's output from its start into the instance's buffer, numbered after the container's
    /// log-base label. A partial last line is emitted only at a clean end of the stream, so output re-read after
    /// an agent restart gets the same sequence numbers.
    /// </summary>
    private async Task PumpOutputAsync(ContainerInstance instance, string containerId, CancellationToken token)
    {
        IContainerOutput output;
        try
        {
            output = await _engine.FollowOutputAsync(containerId, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DockerApiException or OperationCanceledException || DockerErrors.IsDaemonUnreachable(e))
        {
            if (!token.IsCancellationRequested) LogOutputFailed(instance.Id, DockerErrors.Message(e));
            return;
        }
        using (output)
        {
            var stdout = new LineReader(_options.MaxLineLength, text => instance.Logs.Append(_time.GetUtcNow(), "stdout", text));
            var stderr = new LineReader(_options.MaxLineLength, text => instance.Logs.Append(_time.GetUtcNow(), "stderr", text));
            var buffer = new byte[16 * 1024];
            try
            {
                while (true)
                {
                    var (count, isStderr) = await output.ReadAsync(buffer, token).ConfigureAwait(false);
                    if (count == 0) break;
                    (isStderr ? stderr : stdout).Feed(buffer.AsSpan(0, count));
                }
            }
            catch (Exception e) when (e is OperationCanceledException || DockerErrors.IsDaemonUnreachable(e))
            {
                return;
            }
            stdout.Flush();
            stderr.Flush();
        }
    }
}
