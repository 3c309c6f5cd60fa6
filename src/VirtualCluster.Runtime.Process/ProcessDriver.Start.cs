using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using OsProcess = System.Diagnostics.Process;

namespace VirtualCluster.Runtime.Process;

public sealed partial class ProcessDriver
{
    private const int ErrorNoEntry = 2;
    private const int ErrorNoExec = 8;
    private const int ErrorAccess = 13;

    private static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    /// <inheritdoc />
    /// <remarks>
    /// Runs <see cref="ServiceSpec.Command"/> with <see cref="ServiceSpec.Args"/> directly (no shell). The environment is
    /// the agent's, plus the spec's env, plus the request's, plus PORT (first named port), VC_PORT_&lt;NAME&gt; and
    /// VC_VOLUME_&lt;NAME&gt;. Creates the data directory and <c>volumes/&lt;name&gt;</c> per volume.
    /// A relative working directory resolves against the agent's current directory.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The instance is already running.</exception>
    public Task<WorkloadStatus> StartAsync(WorkloadStartRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.InstanceId);
        ArgumentException.ThrowIfNullOrEmpty(request.DataDirectory);
        cancellationToken.ThrowIfCancellationRequested();
        var instance = Reserve(request);
        try
        {
            Launch(instance, request);
            return Task.FromResult(instance.Snapshot());
        }
        finally
        {
            instance.Gate.Release();
        }
    }

    /// <summary>Registers a new run in state Starting, holding its gate, or throws when the id is running.</summary>
    private ProcessInstance Reserve(WorkloadStartRequest request)
    {
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_instances.TryGetValue(request.InstanceId, out var previous))
            {
                RefreshAdopted(previous);
                if (previous.IsActive)
                {
                    var pid = previous.Snapshot().Pid;
                    throw new InvalidOperationException($"Instance {request.InstanceId} is already running{(pid is null ? "" : $" (pid {pid})")}.");
                }
            }
            // Same id again: keep its buffer so sequences go on. Otherwise continue after whatever output.log holds
            // (read under the lock; a fresh instance has no file, so this is rarely more than a stat).
            var logs = previous?.Logs
                ?? new LogBuffer(_options.LogBufferLines, OutputFile.ReadTail(request.DataDirectory, _options.LogBufferLines));
            var instance = new ProcessInstance(request.InstanceId, request.Epoch, request.DataDirectory, logs, gateHeld: true);
            _instances[request.InstanceId] = instance;
            return instance;
        }
    }

    private void Launch(ProcessInstance instance, WorkloadStartRequest request)
    {
        var spec = request.Spec;
        if (string.IsNullOrWhiteSpace(spec.Command))
        {
            Fail(instance, "the spec has no command; the process driver runs spec.command");
            return;
        }

        var volumes = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            Directory.CreateDirectory(request.DataDirectory);
            foreach (var volume in spec.Volumes)
            {
                if (!WorkloadEnvironment.IsSafeVolumeName(volume.Name))
                {
                    Fail(instance, $"volume name \"{volume.Name}\" is not a plain directory name");
                    return;
                }
                var path = Path.GetFullPath(Path.Combine(request.DataDirectory, "volumes", volume.Name));
                Directory.CreateDirectory(path);
                volumes[volume.Name] = path;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Fail(instance, $"cannot create data directory \"{request.DataDirectory}\": {ex.Message}");
            return;
        }

        string? workingDirectory = null;
        if (!string.IsNullOrEmpty(spec.WorkingDirectory))
        {
            workingDirectory = Path.GetFullPath(spec.WorkingDirectory, Environment.CurrentDirectory);
            if (!Directory.Exists(workingDirectory))
            {
                // Checked here because a missing directory would otherwise look like a missing command.
                Fail(instance, $"working directory \"{workingDirectory}\" does not exist");
                return;
            }
        }

        var info = new ProcessStartInfo(spec.Command)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Utf8,
            StandardErrorEncoding = Utf8,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var arg in spec.Args) info.ArgumentList.Add(arg);
        foreach (var (key, value) in WorkloadEnvironment.Build(request, volumes)) info.Environment[key] = value;

        var output = new OutputFile(request.DataDirectory, _options.MaxOutputFileBytes, _logger);
        var process = new OsProcess { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            output.Dispose();
            Fail(instance, DescribeStartError(spec.Command, ex));
            return;
        }

        var startedAt = _time.GetUtcNow();
        var pid = process.Id;
        // Read at once: with the pid it names this process even after the pid is reused. 0 if it already ended.
        var startTime = ProcFs.ReadStat(pid)?.StartTime ?? 0;
        // Workloads get end-of-file on stdin rather than sharing the agent's.
        process.StandardInput.Close();
        instance.SetRunning(process, output, pid, startTime, startedAt, adopted: false);
        instance.AttachPipes(process.StandardOutput, process.StandardError);

        var pidFile = new PidFile(request.InstanceId, request.Epoch, pid, startTime, _bootId, startedAt);
        TryWritePidFile(instance, pidFile);
        var stdout = PumpAsync(instance, process.StandardOutput, "stdout", output);
        var stderr = PumpAsync(instance, process.StandardError, "stderr", output);
        _ = WatchAsync(instance, process, output, pidFile, stdout, stderr);
        LogStarted(request.InstanceId, pid, spec.Command);
    }

    private void Fail(ProcessInstance instance, string reason)
    {
        instance.SetFailed(reason);
        AddNotice(instance, "failed to start: " + reason, output: null);
        LogStartFailed(instance.Id, reason);
    }

    internal static string DescribeStartError(string command, Win32Exception ex) => ex.NativeErrorCode switch
    {
        ErrorNoEntry => $"command \"{command}\" not found: {ex.Message}",
        ErrorAccess => $"command \"{command}\" is not executable (permission denied): {ex.Message}",
        ErrorNoExec => $"command \"{command}\" is not a valid executable: {ex.Message}",
        _ => $"could not start command \"{command}\": {ex.Message}",
    };

    private async Task PumpAsync(ProcessInstance instance, StreamReader reader, string stream, OutputFile output)
    {
        var splitter = new LineSplitter(_options.MaxLineLength, text => instance.Logs.Append(_time.GetUtcNow(), stream, text, output));
        var buffer = new char[4096];
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(buffer.AsMemory(), CancellationToken.None).ConfigureAwait(false);
                if (read == 0) break;
                splitter.Feed(buffer.AsSpan(0, read));
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // Our end of the pipe was closed (driver disposed or instance removed): nothing more to read.
        }
        splitter.Flush();
    }

    /// <summary>Records the exit of a process we started, once its output has been read (or after a bound).</summary>
    private async Task WatchAsync(ProcessInstance instance, OsProcess process, OutputFile output, PidFile pidFile, Task stdout, Task stderr)
    {
        var pumps = Task.WhenAll(stdout, stderr);
        try
        {
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                await pumps.WaitAsync(_options.OutputDrainTimeout, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // A child the process left behind still holds the pipes; report the exit anyway.
            }
            var code = process.ExitCode;
            var outcome = instance.StopRequested ? $"stopped (exit code {code})" : $"exited with code {code}";
            // Lets a restarted agent report the real exit code instead of "unknown". Written before the state
            // changes: once Exited, a new run of the same id may write its own pid file, which must win.
            TryWritePidFile(instance, pidFile with { ExitCode = code });
            if (instance.TrySetExited(code, outcome)) LogExited(instance.Id, pidFile.Pid, outcome);
            await pumps.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            // Handles were released (driver disposed or instance removed); nobody is watching any more.
        }
        finally
        {
            if (pumps.IsCompleted)
            {
                output.Dispose();
                process.Dispose();
            }
        }
    }

    private void TryWritePidFile(ProcessInstance instance, PidFile pidFile)
    {
        try
        {
            pidFile.Write(instance.DataDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogPidFileFailed(instance.Id, ex.Message);
        }
    }
}
