using System.ComponentModel;
using System.Diagnostics;
using OsProcess = System.Diagnostics.Process;

namespace VirtualCluster.Runtime.Process;

public sealed partial class ProcessDriver
{
    /// <summary>Starts every workload: it opens the output files, then execs the program in its own place (same pid).</summary>
    private const string Shell = "/bin/sh";

    /// <summary>
    /// $1 and $2 are the stdout and stderr files, the rest the program and its arguments. Appending (O_APPEND) lets
    /// the driver truncate a file the program still writes; stdin is at end of file rather than the agent's.
    /// </summary>
    private const string LaunchScript = "o=$1 e=$2; shift 2; exec \"$@\" </dev/null >>\"$o\" 2>>\"$e\"";

    /// <inheritdoc />
    /// <remarks>
    /// Runs <see cref="ServiceSpec.Command"/> with <see cref="ServiceSpec.Args"/> as given: <c>/bin/sh</c> only opens
    /// the output files and execs the program, which keeps the shell's pid; nothing is parsed by a shell. A command
    /// with a '/' is a path (relative ones against the working directory); a bare name is looked up in the workload's
    /// PATH. It is checked before the start, so a missing or non-executable program fails the start. The environment is
    /// the agent's, plus the spec's env, plus the request's, plus PORT (first named port), VC_PORT_&lt;NAME&gt; and
    /// VC_VOLUME_&lt;NAME&gt;. Creates the data directory and <c>volumes/&lt;name&gt;</c> per volume.
    /// A relative working directory resolves against the agent's current directory. Output goes to <c>stdout.log</c>
    /// and <c>stderr.log</c> in the data directory, written by the process itself, and is read from there.
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

        if (!File.Exists(Shell))
        {
            Fail(instance, $"{Shell} does not exist; the process driver starts workloads through it so their output goes straight to files");
            return;
        }
        var environment = WorkloadEnvironment.Build(request, volumes);
        var info = new ProcessStartInfo(Shell) { UseShellExecute = false, WorkingDirectory = workingDirectory ?? "" };
        foreach (var (key, value) in environment) info.Environment[key] = value;
        if (CommandResolver.Resolve(spec.Command, workingDirectory ?? Environment.CurrentDirectory, info.Environment.TryGetValue("PATH", out var searchPath) ? searchPath : null, out var program) is { } error)
        {
            Fail(instance, error);
            return;
        }

        string stdoutPath, stderrPath;
        try
        {
            (stdoutPath, stderrPath) = OutputTail.CreateFiles(request.DataDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Fail(instance, $"cannot create output files in \"{request.DataDirectory}\": {ex.Message}");
            return;
        }
        // Everything reaches the shell as positional parameters, never as script text, so no argument is parsed.
        foreach (var arg in (string[])["-c", LaunchScript, "vc-process-driver", stdoutPath, stderrPath, program, .. spec.Args]) info.ArgumentList.Add(arg);

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
            Fail(instance, $"could not start command \"{spec.Command}\" through {Shell}: {ex.Message}");
            return;
        }

        var startedAt = _time.GetUtcNow();
        var pid = process.Id;
        // Read at once: with the pid it names this process even after the pid is reused. 0 if it already ended.
        // exec keeps the pid and the start time, so this is the workload's whether or not the shell has exec'd yet.
        var startTime = ProcFs.ReadStat(pid)?.StartTime ?? 0;
        var tail = NewTail(instance, CaptureOffsets.Zero, output);
        instance.SetRunning(process, output, tail, pid, startTime, startedAt, adopted: false);

        var pidFile = new PidFile(request.InstanceId, request.Epoch, pid, startTime, _bootId, startedAt);
        TryWritePidFile(instance, pidFile);
        _ = WatchAsync(instance, process, output, tail, pidFile);
        StartPolling();
        LogStarted(request.InstanceId, pid, program);
    }

    private void Fail(ProcessInstance instance, string reason)
    {
        instance.SetFailed(reason);
        AddNotice(instance, "failed to start: " + reason, output: null);
        LogStartFailed(instance.Id, reason);
    }

    /// <summary>Records the exit of a process we started, once its output files have been read to the end.</summary>
    private async Task WatchAsync(ProcessInstance instance, OsProcess process, OutputFile output, OutputTail tail, PidFile pidFile)
    {
        try
        {
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            // Whatever the process wrote is in the files by now; a child it left behind may go on writing, unread.
            tail.Finish();
            var code = process.ExitCode;
            var outcome = instance.StopRequested ? $"stopped (exit code {code})" : $"exited with code {code}";
            // Lets a restarted agent report the real exit code instead of "unknown". Written before the state
            // changes: once Exited, a new run of the same id may write its own pid file, which must win.
            TryWritePidFile(instance, pidFile with { ExitCode = code });
            if (instance.TrySetExited(code, outcome)) LogExited(instance.Id, pidFile.Pid, outcome);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            // Handles were released (driver disposed or instance removed); nobody is watching any more.
        }
        finally
        {
            tail.Dispose();
            output.Dispose();
            process.Dispose();
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
